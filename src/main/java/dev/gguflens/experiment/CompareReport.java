package dev.gguflens.experiment;

import com.google.gson.annotations.SerializedName;

import java.util.List;

/**
 * Everything {@code gguf-lens compare} produces, shaped like {@code compare.json} (field names are the JSON
 * keys). The table, CSV and SVG are renderings of this record. Layers are 0..n_layer (0 = embeddings);
 * all per-layer values are at the last prompt position.
 */
public record CompareReport(
        String reference,
        String lens,
        @SerializedName("top_k") int topK,
        @SerializedName("answer_mode") String answerMode,
        List<PromptInfo> prompts,
        List<Variant> variants,
        List<VariantSummary> summary) {

    /**
     * @param answerTokens the expected answer's tokens after the prompt (null without one)
     * @param multiToken   whether it has several: in {@code first} mode only the first is followed, in
     *                     {@code sequence} mode the whole answer (teacher-forced) and the rank milestones follow it
     */
    public record PromptInfo(int index, String prompt, String expected,
                             @SerializedName("answer_tokens") List<ProbeReport.TokenInfo> answerTokens,
                             @SerializedName("multi_token") boolean multiToken) {}

    /** Whether every layer entry carries the whole-answer view ({@code --answer-mode sequence}). */
    public boolean sequenceMode() {
        return "sequence".equals(answerMode);
    }

    /** How many prompts have an expected answer of several tokens. */
    public long multiTokenPrompts() {
        return prompts.stream().filter(PromptInfo::multiToken).count();
    }

    /**
     * One model of the comparison.
     *
     * @param bitsPerWeight 8 x file bytes / number of parameters (all tensor elements)
     */
    public record Variant(
            String name,
            String file,
            boolean reference,
            @SerializedName("file_type") String fileType,
            @SerializedName("output_weight_type") String outputWeightType,
            @SerializedName("file_bytes") long fileBytes,
            @SerializedName("n_params") long nParams,
            @SerializedName("bits_per_weight") double bitsPerWeight,
            @SerializedName("model_load_ms") double modelLoadMs,
            List<PromptResult> prompts,
            @SerializedName("kv_cache") ProbeReport.KvCache kvCache,
            ProbeReport.Backend backend) {}

    /** The variants' backend lines, each once (the variants normally share one), with any warning. */
    public List<String> backendLines() {
        return variants.stream().map(Variant::backend).filter(java.util.Objects::nonNull)
                .map(b -> b.line() + (b.warning() == null ? "" : " (warning: " + b.warning() + ")")).distinct().toList();
    }

    /** One prompt through one model: the probe's per-layer entries, each with its comparison to the reference. */
    public record PromptResult(
            int prompt,
            List<Layer> layers,
            ProbeReport.Milestones milestones,
            @SerializedName("milestone_shift") MilestoneShift milestoneShift) {}

    public record Layer(
            @SerializedName("probe") ProbeReport.LayerEntry probe,
            @SerializedName("vs_reference") LayerComparison vsReference) {}

    /**
     * This layer against the reference model's same layer.
     *
     * @param klBits          KL(variant || reference) of the two lens distributions, in bits
     * @param top1Agree       both lenses put the same token first (equal log-probs: lower id first)
     * @param topKJaccard     |A n B| / |A u B| of the two top-k token sets
     * @param residualCosine  cosine between the two residual states (before any norm)
     */
    public record LayerComparison(
            int layer,
            @SerializedName("kl_bits") double klBits,
            @SerializedName("top1_agree") boolean top1Agree,
            @SerializedName("top1_id") int top1Id,
            @SerializedName("reference_top1_id") int referenceTop1Id,
            @SerializedName("topk_jaccard") double topKJaccard,
            @SerializedName("residual_cos") double residualCosine) {}

    /** Variant milestone layer minus the reference's; null when either never reaches it. */
    public record MilestoneShift(
            @SerializedName("first_rank1") Integer firstRank1,
            @SerializedName("first_rank_le_5") Integer firstRankLe5,
            @SerializedName("first_kl_below_1_bit") Integer firstKlBelow1Bit) {}

    /**
     * Median and quartiles over the suite (numpy's linear interpolation); a milestone that is never reached
     * counts as later than every layer, so a statistic that depends on it is null. {@code count} values of
     * which {@code present} were reached.
     */
    public record Stat(int count, int present, Double q1, Double median, Double q3, Double iqr) {}

    /** The milestones of one variant over the suite, as layers, and their shifts against the reference. */
    public record MilestoneStats(
            @SerializedName("first_rank1") Stat firstRank1,
            @SerializedName("first_rank_le_5") Stat firstRankLe5,
            @SerializedName("first_kl_below_1_bit") Stat firstKlBelow1Bit) {}

    /**
     * One variant over the whole suite.
     *
     * @param meanKlBits          per layer, the mean over prompts of KL(variant || reference) in bits
     * @param meanKlAllLayersBits the mean of {@code meanKlBits} over layers
     * @param top1FlipRate        per layer, the fraction of prompts whose lens top-1 differs from the reference's
     * @param medianExpectedRank  per layer, the median rank of the expected answer's (first) token (null: no prompt has one)
     * @param medianAnswerLogProb sequence mode: per layer, the median over prompts of the whole answer's lens
     *                            log-probability (nats, the sum over its teacher-forced tokens); else null
     * @param milestones          median/IQR of each milestone layer
     * @param shifts              median/IQR of each milestone's shift; prompts where the reference never reaches
     *                            it are left out, a variant that never reaches it counts as an infinitely late shift
     */
    public record VariantSummary(
            String variant,
            @SerializedName("mean_kl_bits") double[] meanKlBits,
            @SerializedName("mean_kl_all_layers_bits") double meanKlAllLayersBits,
            @SerializedName("top1_flip_rate") double[] top1FlipRate,
            @SerializedName("median_expected_rank") Double[] medianExpectedRank,
            @SerializedName("median_answer_logprob") Double[] medianAnswerLogProb,
            MilestoneStats milestones,
            MilestoneStats shifts) {}
}
