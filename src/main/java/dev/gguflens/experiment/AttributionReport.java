package dev.gguflens.experiment;

import com.google.gson.annotations.SerializedName;

import java.util.List;

/**
 * One run of {@code attribute}: a token's final logit (or a logit difference) at one position split into the
 * embedding, each block's attention (and its heads) and MLP. Shaped exactly like the JSON output (field names are
 * the JSON keys, documented in README.md); the text, CSV and HTML outputs are renderings of this record.
 *
 * @param kvCache           the KV cache and flash attention the forward pass ran with
 * @param position          the attributed prompt position (0-based; sequence mode: the first of the answer's positions)
 * @param positionToken     the token at that position
 * @param answer            the answer as given, its (first) token id and text, and llama.cpp's logit for it
 * @param answerMode        "first" (the answer's first token is attributed) or "sequence" (its tokens' logits, each at
 *                          the position that predicts it, are attributed together: the parts are sums over them)
 * @param answerTokens      every token of the answer after the prompt
 * @param multiToken        whether it has several
 * @param teacherForced     sequence mode with several tokens: each token's position, id, text, llama.cpp logit and sum
 *                          of parts; else null
 * @param other             the token subtracted ({@code --vs}), or null
 * @param decomposed        what the parts sum to, in words
 * @param target            that value from llama.cpp: the logit (difference), before any softcap
 * @param embedding         the embedding's part
 * @param blocks            each block's parts
 * @param constant          norm bias and output bias, which no part writes
 * @param sumOfParts        embedding + blocks + constant
 * @param identity          the check that the parts sum to llama.cpp's value
 * @param frozenNormScale   1/rms (1/std for LayerNorm) of the final residual, the factor every part is scaled by
 * @param headCount         heads per block
 * @param notes             what is and is not decomposed for this model, in sentences
 */
public record AttributionReport(
        ProbeReport.ModelInfo model,
        @SerializedName("kv_cache") ProbeReport.KvCache kvCache,
        String prompt,
        List<ProbeReport.TokenInfo> tokens,
        int position,
        @SerializedName("position_token") String positionToken,
        @SerializedName("answer") String answer,
        @SerializedName("answer_id") int answerId,
        @SerializedName("answer_token") String answerToken,
        @SerializedName("answer_logit") double answerLogit,
        @SerializedName("answer_mode") String answerMode,
        @SerializedName("answer_tokens") List<ProbeReport.TokenInfo> answerTokens,
        @SerializedName("multi_token") boolean multiToken,
        @SerializedName("teacher_forced") List<ForcedToken> teacherForced,
        Other other,
        String decomposed,
        double target,
        double embedding,
        List<Block> blocks,
        double constant,
        @SerializedName("sum_of_parts") double sumOfParts,
        Identity identity,
        @SerializedName("frozen_norm_scale") double frozenNormScale,
        @SerializedName("head_count") int headCount,
        List<String> notes) {

    /** One answer token in sequence mode: where it is predicted, llama.cpp's logit for it there and its parts' sum. */
    public record ForcedToken(int position, int id, String token, double logit,
                              @SerializedName("sum_of_parts") double sumOfParts) {}

    /** The token subtracted: as given, id, text and llama.cpp's logit for it. */
    public record Other(String text, int id, String token, double logit) {}

    /**
     * @param attention          what the block's attention added to the residual
     * @param mlp                what its MLP added
     * @param heads              each head's share of the attention part
     * @param attentionBias      the attention output bias's share
     * @param headsRemainder     attention - heads - bias (rounding; see the notes)
     */
    public record Block(int block, double attention, double mlp, List<Double> heads,
                        @SerializedName("attention_bias") double attentionBias,
                        @SerializedName("heads_remainder") double headsRemainder) {
        public Block {
            heads = List.copyOf(heads);
        }

        public double total() {
            return attention + mlp;
        }
    }

    /**
     * @param reference    llama.cpp's value the parts should sum to (NaN when it could not be recovered)
     * @param absDiff      |sum of parts - reference|
     * @param relDiff      absDiff / |reference|
     * @param ok           relDiff within {@link #TOLERANCE}
     */
    public record Identity(double reference, @SerializedName("abs_diff") double absDiff,
                           @SerializedName("rel_diff") double relDiff, boolean ok) {
        /** The relative agreement expected on float weights; quantised output products round activations and miss it. */
        public static final double TOLERANCE = 1e-4;
    }

    public AttributionReport {
        tokens = List.copyOf(tokens);
        answerTokens = List.copyOf(answerTokens);
        if (teacherForced != null) teacherForced = List.copyOf(teacherForced);
        blocks = List.copyOf(blocks);
        notes = List.copyOf(notes);
    }
}
