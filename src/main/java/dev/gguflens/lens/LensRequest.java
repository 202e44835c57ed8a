package dev.gguflens.lens;

import java.util.List;
import java.util.function.IntFunction;
import java.util.function.IntPredicate;

/**
 * What to compute.
 *
 * @param kind             how residuals are prepared (the KL/cosine reference is always the NORM lens at the last layer)
 * @param topK             how many top tokens to report per (layer, position), >= 1
 * @param positions        indexes into the captured positions; milestones are taken at the last one
 * @param tracked          tokens followed through the layers; the first one drives the rank milestones
 * @param referenceLogits  llama.cpp's own logits for each requested position (n_vocab each), or null
 * @param promptTokenIds   the prompt's token ids, for copy-collapse detection (empty: none detected)
 * @param copyCandidate    which token ids may count as a copy (false for whitespace/punctuation-only tokens)
 * @param keepLastPositionLogProbs whether to keep, for every layer, the full lens log-probability row at the
 *                         last requested position (float32, n_layer+1 x n_vocab: e.g. 37 x 151936 x 4 B = 22 MB
 *                         for Qwen3-8B), so a caller can compare it with another model's lens afterwards
 * @param checkHead        whether to split the last position's gap to llama.cpp's logits ({@link HeadConsistency},
 *                         {@link LensResult#headCheck()}): its rounded-activation vector rides as one more column of
 *                         the lens's own product instead of a second pass over the output weight; needs reference logits
 */
public record LensRequest(LensKind kind, int topK, int[] positions, List<TrackedToken> tracked,
                          float[][] referenceLogits, int[] promptTokenIds, IntPredicate copyCandidate,
                          boolean keepLastPositionLogProbs, boolean checkHead) {

    public LensRequest {
        if (kind == null) throw new IllegalArgumentException("lens request: lens kind is missing");
        if (topK < 1) throw new IllegalArgumentException("lens request: top-k " + topK + " must be >= 1");
        if (positions == null || positions.length == 0) {
            throw new IllegalArgumentException("lens request: no positions requested");
        }
        tracked = tracked == null ? List.of() : List.copyOf(tracked);
        if (referenceLogits != null && referenceLogits.length != positions.length) {
            throw new IllegalArgumentException("lens request: " + referenceLogits.length
                    + " reference logit rows for " + positions.length + " positions");
        }
        if (checkHead && referenceLogits == null) {
            throw new IllegalArgumentException("lens request: the head check needs llama.cpp's reference logits");
        }
        promptTokenIds = promptTokenIds == null ? new int[0] : promptTokenIds;
        copyCandidate = copyCandidate == null ? id -> true : copyCandidate;
    }

    /** A request without the head check. */
    public LensRequest(LensKind kind, int topK, int[] positions, List<TrackedToken> tracked,
                       float[][] referenceLogits, int[] promptTokenIds, IntPredicate copyCandidate,
                       boolean keepLastPositionLogProbs) {
        this(kind, topK, positions, tracked, referenceLogits, promptTokenIds, copyCandidate, keepLastPositionLogProbs, false);
    }

    /** A request that keeps no log-probability rows. */
    public LensRequest(LensKind kind, int topK, int[] positions, List<TrackedToken> tracked,
                       float[][] referenceLogits, int[] promptTokenIds, IntPredicate copyCandidate) {
        this(kind, topK, positions, tracked, referenceLogits, promptTokenIds, copyCandidate, false);
    }

    /** A request without reference logits and without copy-collapse detection. */
    public LensRequest(LensKind kind, int topK, int[] positions, List<TrackedToken> tracked) {
        this(kind, topK, positions, tracked, null, null, null);
    }

    /** This request, also keeping every layer's log-probabilities at the last position ({@link LensResult#lastPositionLogProbs()}). */
    public LensRequest keepingLastPositionLogProbs() {
        return new LensRequest(kind, topK, positions, tracked, referenceLogits, promptTokenIds, copyCandidate, true, checkHead);
    }

    /** This request, also checking the head at the last position ({@link LensResult#headCheck()}). */
    public LensRequest checkingHead() {
        return new LensRequest(kind, topK, positions, tracked, referenceLogits, promptTokenIds, copyCandidate,
                keepLastPositionLogProbs, true);
    }

    /**
     * A copy-candidate predicate from token texts: a token counts unless its text, after treating the
     * SentencePiece (U+2581) and byte-level BPE (U+0120, U+010A) space markers as spaces, consists only of
     * whitespace and punctuation/symbols (or is empty / unknown).
     */
    public static IntPredicate contentTokens(IntFunction<String> tokenText) {
        return id -> {
            String text = tokenText.apply(id);
            if (text == null) return false;
            return text.codePoints().anyMatch(LensRequest::isContentCodePoint);
        };
    }

    private static boolean isContentCodePoint(int cp) {
        if (cp == 0x2581 || cp == 0x0120 || cp == 0x010A || Character.isWhitespace(cp) || Character.isSpaceChar(cp)) {
            return false;
        }
        return switch (Character.getType(cp)) {
            case Character.CONNECTOR_PUNCTUATION, Character.DASH_PUNCTUATION, Character.START_PUNCTUATION,
                 Character.END_PUNCTUATION, Character.INITIAL_QUOTE_PUNCTUATION, Character.FINAL_QUOTE_PUNCTUATION,
                 Character.OTHER_PUNCTUATION, Character.MATH_SYMBOL, Character.CURRENCY_SYMBOL,
                 Character.MODIFIER_SYMBOL, Character.CONTROL, Character.FORMAT -> false;
            default -> true;
        };
    }
}
