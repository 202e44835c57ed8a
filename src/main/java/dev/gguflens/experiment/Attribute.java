package dev.gguflens.experiment;

import dev.gguflens.gguf.GgmlType;
import dev.gguflens.gguf.UntrustedText;
import dev.gguflens.lens.AttentionOutputs;
import dev.gguflens.lens.HadamardRotation;
import dev.gguflens.lens.Attribution;
import dev.gguflens.lens.LensHead;
import dev.gguflens.lens.LogitAttribution;
import dev.gguflens.lens.NormKind;
import dev.gguflens.lens.ResidualSites;
import dev.gguflens.llama.Capture;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * {@code attribute} on a loaded model: runs the prompt once, capturing the residual stream around every block and
 * every block's heads ({@code kqv_out}), and splits the answer's logit with {@link LogitAttribution}.
 */
public final class Attribute {
    /** Remainders (attention minus heads) above this fraction of |sum of parts| get a note. */
    private static final double REMAINDER_NOTE = 1e-3;

    private final ModelSession session;
    private final AttentionOutputs attention;

    public Attribute(ModelSession session) {
        this.session = session;
        this.attention = AttentionOutputs.fromGguf(session.file());
    }

    /**
     * @param prompt   the prompt
     * @param answer   the answer whose first token (as it would follow the prompt) is attributed; with the session's
     *                 answer mode {@code sequence}, all its tokens, each at the position that predicts it (the prompt
     *                 followed by the answer's earlier tokens), the parts summed
     * @param other    with {@code --vs}: the answer whose logit is subtracted, or null (first mode only)
     * @param position the attributed position, or null for the last (first mode only)
     */
    public AttributionReport run(String prompt, String answer, String other, Integer position) {
        int[] tokens = session.tokenizePrompt(prompt);
        int[] answerTokens = session.answerTokens(prompt, tokens, answer);
        int answerId = answerTokens[0];
        boolean sequenceMode = session.settings().answerMode() == AnswerMode.SEQUENCE;
        if (sequenceMode && other != null) {
            throw new InvalidInputException("--vs goes with --answer-mode first: a whole answer has no single rival token");
        }
        if (sequenceMode && position != null) {
            throw new InvalidInputException("--position goes with --answer-mode first: the whole answer is attributed at"
                    + " the positions that predict its tokens");
        }
        int otherId = other == null ? -1 : session.trackedToken(prompt, tokens, other).id();
        if (otherId == answerId) {
            throw new InvalidInputException("other", other, "starts with the same token as the answer '" + answer + "' ("
                    + answerId + "); nothing to compare");
        }
        int pos = position == null ? tokens.length - 1 : position;
        if (pos < 0 || pos >= tokens.length) {
            throw new InvalidInputException("position", pos, "is outside the prompt's " + tokens.length + " tokens (0.."
                    + (tokens.length - 1) + ")");
        }
        boolean whole = sequenceMode && answerTokens.length > 1;
        int[] forward = whole ? Probe.teacherForced(session, tokens, answerTokens) : tokens;
        LensHead head = session.head();
        int blocks = session.model().layerCount();
        // A quantised V cache is rotated (Hadamard) and kqv_out with it: the heads need it turned back.
        boolean rotatedV = HadamardRotation.llamaRotatesV(session.kvCacheType().quantized(), attention.headDim());
        try (Capture capture = session.capture(forward, SublayerSites.request(blocks, true))) {
            int terms = whole ? answerTokens.length : 1;
            List<Attribution> parts = new ArrayList<>(terms);
            List<AttributionReport.ForcedToken> forced = whole ? new ArrayList<>() : null;
            double logitSum = 0;
            for (int j = 0; j < terms; j++) {
                int at = pos + j, id = answerTokens[j];
                ResidualSites sites = SublayerSites.at(capture, at, session.model().architecture());
                if (rotatedV) sites = new ResidualSites(sites.residual(), sites.mid(), HadamardRotation.unrotated(sites.heads()));
                float[] logits = capture.logitsArray(at);
                Attribution a = LogitAttribution.compute(head, attention, sites, whole ? id : answerId, otherId, logits,
                        session.settings().threads());
                parts.add(a);
                logitSum += logits[id];
                if (whole) forced.add(new AttributionReport.ForcedToken(at, id, session.tokenText(id), logits[id], a.sumOfParts()));
            }
            Attribution a = whole ? Attribution.sum(parts) : parts.getFirst();
            float[] firstLogits = capture.logitsArray(pos);
            double answerLogit = whole ? logitSum : firstLogits[answerId];
            AttributionReport report = report(prompt, tokens, pos, answer, answerTokens, forced, other, firstLogits, answerLogit,
                    a, head, rotatedV);
            return report;
        }
    }

    private AttributionReport report(String prompt, int[] tokens, int pos, String answer, int[] answerTokens,
                                     List<AttributionReport.ForcedToken> forced, String other, float[] logits,
                                     double answerLogit, Attribution a, LensHead head, boolean rotatedV) {
        List<ProbeReport.TokenInfo> tokenInfos = Arrays.stream(tokens)
                .mapToObj(id -> new ProbeReport.TokenInfo(id, session.tokenText(id))).toList();
        List<AttributionReport.Block> blocks = a.blocks().stream().map(b -> new AttributionReport.Block(b.block(),
                b.attention(), b.mlp(), Arrays.stream(b.heads()).boxed().toList(), b.bias(), b.remainder())).toList();
        AttributionReport.Other vs = a.hasOther()
                ? new AttributionReport.Other(other, a.otherId(), session.tokenText(a.otherId()), logits[a.otherId()]) : null;
        double absDiff = Math.abs(a.sumOfParts() - a.reference());
        double relDiff = a.relativeError();
        AttributionReport.Identity identity = new AttributionReport.Identity(a.reference(), absDiff, relDiff,
                relDiff <= AttributionReport.Identity.TOLERANCE);
        String what = a.hasOther() ? "the logit difference " + quoted(session.tokenText(a.answerId())) + " - "
                + quoted(session.tokenText(a.otherId())) : "the logit of " + quoted(session.tokenText(a.answerId()));
        if (forced != null) {
            what = "the sum of the logits of the answer's " + forced.size() + " tokens, each at the position that predicts it"
                    + " (positions " + forced.getFirst().position() + ".." + forced.getLast().position() + ")";
        }
        String decomposed = a.hasSoftcap() ? what + " before the final softcap (z, with logit = "
                + fmt("%.4g", a.softcap()) + " * tanh(z / " + fmt("%.4g", a.softcap()) + "))" : what;
        List<ProbeReport.TokenInfo> answerInfos = Arrays.stream(answerTokens)
                .mapToObj(id -> new ProbeReport.TokenInfo(id, session.tokenText(id))).toList();
        List<String> notes = notes(a, head, identity);
        if (rotatedV) {
            notes.add("The " + session.kvCacheType().llamaName() + " V cache is rotated by llama.cpp (a 64 x 64 Walsh-Hadamard"
                    + " matrix per block of 64 values, undone after the attention), so kqv_out was turned back the same way"
                    + " before it was split into heads.");
        }
        if (forced != null) {
            notes.add("Sequence mode: the prompt is followed by the answer's tokens but the last (teacher forcing), and each"
                    + " answer token's logit is attributed at the position that predicts it; every part is the sum over those"
                    + " positions. Logits, not log-probabilities: the softmax's normaliser is not a sum of parts.");
        }
        return new AttributionReport(Probe.modelInfo(session), session.kvCache(), prompt, tokenInfos, pos,
                session.tokenText(tokens[pos]), answer, a.answerId(), session.tokenText(a.answerId()), answerLogit,
                session.settings().answerMode().optionName(), answerInfos, answerTokens.length > 1, forced, vs, decomposed,
                a.reference(), a.embedding(), blocks, a.constant(), a.sumOfParts(), identity, a.frozenNormScale(),
                attention.headCount(), notes);
    }

    private List<String> notes(Attribution a, LensHead head, AttributionReport.Identity identity) {
        List<String> notes = new ArrayList<>();
        notes.add("Each part is projected through the final " + (head.norm() == NormKind.LAYER_NORM
                ? "LayerNorm (centred, divided by the final residual's standard deviation, times its weight)"
                : "RMSNorm (divided by the final residual's RMS, times its weight)")
                + " with that scale frozen at the final residual's value, then onto the output row(s)"
                + (head.logitScale().isPresent() ? " and times the logit scale" : "") + ".");
        if (a.hasSoftcap()) {
            notes.add("The final logit softcap (logit = c * tanh(z / c), c = " + fmt("%.4g", a.softcap())
                    + ") is not linear, so the pre-softcap logit z is decomposed; the reference is llama.cpp's logit mapped"
                    + " back through atanh.");
        }
        if (a.headsPostNormed()) {
            notes.add("Attention and MLP outputs are taken after the block's post-norms, as they enter the residual. Each"
                    + " head's share goes through the attention post-norm with its RMS frozen at the block's value (as for"
                    + " the final norm), so the heads sum to the post-normed attention output. The MLP is not split further.");
        }
        double worst = a.blocks().stream().mapToDouble(b -> Math.abs(b.remainder())).max().orElse(0);
        if (worst > REMAINDER_NOTE * Math.abs(a.sumOfParts())) {
            boolean quantised = attention.blocks().stream().anyMatch(b -> b.weight().type() != GgmlType.F32);
            notes.add("The heads miss up to " + fmt("%.3g", worst) + " of a block's attention part (heads_remainder): "
                    + (quantised ? "llama.cpp rounds the heads' outputs to 8 bits before its quantised output projection,"
                    + " the Java split does not." : "something between kqv_out and the residual that this split does not model"
                    + " (kqv_out of a quantised V cache is un-rotated here as llama.cpp rotates it; a change in that rule would"
                    + " show up so)."));
        }
        if (!identity.ok() && a.hasSoftcap() && !Double.isNaN(identity.reference())) {
            double t = Math.tanh(a.reference() / a.softcap());
            notes.add("Mapping llama.cpp's logit back through the softcap's atanh multiplies its float rounding by "
                    + fmt("%.3g", 1 / (1 - t * t)) + " at this logit (it is close to the cap).");
        }
        if (!identity.ok()) {
            notes.add(Double.isNaN(identity.reference())
                    ? "llama.cpp's logit is at the softcap, where it cannot be mapped back; no identity check."
                    : "The parts sum to the float projection of llama.cpp's final residual; llama.cpp's own logit differs"
                    + " by " + fmt("%.2g", identity.relDiff()) + " relative (its quantised output product rounds the"
                    + " residual to 8 bits; F32 models agree to ~1e-7).");
        }
        return notes;
    }

    private static String quoted(String s) {
        return UntrustedText.quoted(s);
    }

    private static String fmt(String format, Object... args) {
        return String.format(Locale.ROOT, format, args);
    }
}
