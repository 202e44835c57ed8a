package dev.gguflens.experiment;

import com.google.gson.annotations.SerializedName;

import java.util.List;

/**
 * Everything one probe of one model produces, shaped exactly like the JSON output (field names are the
 * JSON keys, documented in README.md). The text and CSV reports are renderings of this record.
 */
public record ProbeReport(
        ModelInfo model,
        String prompt,
        List<TokenInfo> tokens,
        String lens,
        List<LayerEntry> layers,
        List<PositionEntry> positions,
        @SerializedName("final") FinalPrediction finalPrediction,
        Consistency consistency,
        Milestones milestones,
        @SerializedName("extra_prompts") List<ExtraPrompt> extraPrompts,
        List<TemperaturePoint> temperatures,
        Timings timings,
        @SerializedName("kv_cache") KvCache kvCache,
        List<Answer> answers) {

    /** A report without the KV cache and answer descriptions (both null). */
    public ProbeReport(ModelInfo model, String prompt, List<TokenInfo> tokens, String lens, List<LayerEntry> layers,
                       List<PositionEntry> positions, FinalPrediction finalPrediction, Consistency consistency,
                       Milestones milestones, List<ExtraPrompt> extraPrompts, List<TemperaturePoint> temperatures,
                       Timings timings) {
        this(model, prompt, tokens, lens, layers, positions, finalPrediction, consistency, milestones, extraPrompts,
                temperatures, timings, null, null);
    }

    /** This report with other timings. */
    public ProbeReport withTimings(Timings t) {
        return new ProbeReport(model, prompt, tokens, lens, layers, positions, finalPrediction, consistency, milestones,
                extraPrompts, temperatures, t, kvCache, answers);
    }

    /**
     * How llama.cpp held attention keys and values, which decides whether the intermediate layers are those of an
     * F32 forward pass.
     *
     * @param type      f32, f16 or q8_0
     * @param flashAttn on or off as the graph ran ("auto -> on" when llama.cpp resolved auto)
     * @param exact     F32 cache without flash attention: every layer is the F32 forward pass
     * @param reason    why this setting: the option given, or the default rule with the cache's F32 size
     */
    public record KvCache(String type, @SerializedName("flash_attn") String flashAttn, boolean exact, String reason) {}

    /**
     * An expected answer as the model would continue the prompt with it.
     *
     * @param tokens     all its tokens after the prompt (leading space included in the first)
     * @param multiToken whether it has more than one token, so the first-token view tracks only {@code tokens[0]}
     * @param mode       "first" (the first token is tracked) or "sequence" (the whole answer is teacher-forced
     *                   after the prompt and each layer's expected entry carries its log-probability)
     */
    public record Answer(String text, List<TokenInfo> tokens, @SerializedName("multi_token") boolean multiToken,
                         String mode) {}

    public record ModelInfo(
            String name,
            String file,
            String architecture,
            @SerializedName("n_layer") int nLayer,
            @SerializedName("n_embd") int nEmbd,
            @SerializedName("n_vocab") int nVocab,
            @SerializedName("n_head") Integer nHead,
            @SerializedName("n_head_kv") Integer nHeadKv,
            @SerializedName("n_ctx_train") int nCtxTrain,
            @SerializedName("file_type") String fileType,
            @SerializedName("output_weight_type") String outputWeightType,
            @SerializedName("n_params") long nParams,
            @SerializedName("file_bytes") long fileBytes,
            Backend backend) {
        /** A model description without a run on a backend (fixtures, reports made without llama.cpp). */
        public ModelInfo(String name, String file, String architecture, int nLayer, int nEmbd, int nVocab, Integer nHead,
                         Integer nHeadKv, int nCtxTrain, String fileType, String outputWeightType, long nParams, long fileBytes) {
            this(name, file, architecture, nLayer, nEmbd, nVocab, nHead, nHeadKv, nCtxTrain, fileType, outputWeightType,
                    nParams, fileBytes, null);
        }
    }

    /**
     * Where llama.cpp ran the model and how it computed attention.
     *
     * @param backends           ggml backends that held layers or computed, e.g. [CUDA, CPU]
     * @param devices            those devices, e.g. "CUDA0 (NVIDIA H200)", the CPU last
     * @param gpuLayersRequested -ngl as asked (-1 = all)
     * @param layersOffloaded    layers llama.cpp put on non-CPU devices, of {@code layersTotal} = n_layer + 1
     *                           (llama.cpp counts the output layer)
     * @param warning            e.g. -ngl asked for layers but no GPU backend is loaded; null when none
     * @param splitMode          --split-mode as given (none, layer, row), null when not given (llama.cpp's layer)
     * @param mainGpu            --main-gpu as given, null when not given (llama.cpp's 0)
     */
    public record Backend(
            List<String> backends,
            List<String> devices,
            @SerializedName("gpu_layers_requested") int gpuLayersRequested,
            @SerializedName("layers_offloaded") int layersOffloaded,
            @SerializedName("layers_total") int layersTotal,
            String warning,
            @SerializedName("split_mode") String splitMode,
            @SerializedName("main_gpu") Integer mainGpu) {
        public Backend {
            backends = List.copyOf(backends);
            devices = List.copyOf(devices);
            if (layersOffloaded < 0 || layersOffloaded > layersTotal) {
                throw new IllegalArgumentException("layers offloaded " + layersOffloaded + " outside 0.." + layersTotal);
            }
            if (mainGpu != null && mainGpu < 0) throw new IllegalArgumentException("main GPU " + mainGpu + " is negative");
        }

        /** Without --split-mode and --main-gpu. */
        public Backend(List<String> backends, List<String> devices, int gpuLayersRequested, int layersOffloaded,
                       int layersTotal, String warning) {
            this(backends, devices, gpuLayersRequested, layersOffloaded, layersTotal, warning, null, null);
        }

        /**
         * "CUDA0 (NVIDIA H200) + CPU (...); 9/9 layers offloaded", then "; split mode none, main GPU 1" when either
         * was given (KV cache and flash attention: {@link KvCache}).
         */
        public String line() {
            StringBuilder s = new StringBuilder(String.join(" + ", devices)).append("; ").append(layersOffloaded).append('/')
                    .append(layersTotal).append(" layers offloaded");
            if (splitMode != null) s.append("; split mode ").append(splitMode);
            if (mainGpu != null) s.append(splitMode != null ? ", " : "; ").append("main GPU ").append(mainGpu);
            return s.toString();
        }
    }

    public record TokenInfo(int id, String text) {}

    public record TopToken(int id, String token, double p) {}

    /**
     * The tracked answer at one layer: the answer text, the token id that stands for it (its first token as the
     * model sees it after the prompt), that token's text, its rank (1 = top) and probability. With
     * {@code --answer-mode sequence}: {@code answerLogProb}, the lens log-probability (nats) of the whole answer
     * (sum over its tokens, each at its teacher-forced position), and {@code answerWorstRank}, the largest of
     * those tokens' ranks (1 = this layer's lens would produce the whole answer greedily); else both null.
     */
    public record Expected(String text, int id, String token, int rank, double p,
                           @SerializedName("answer_logprob") Double answerLogProb,
                           @SerializedName("answer_worst_rank") Integer answerWorstRank) {
        /** The first-token view only. */
        public Expected(String text, int id, String token, int rank, double p) {
            this(text, id, token, rank, p, null, null);
        }
    }

    /**
     * One row of the lens. {@code site} says which residual state it is: {@code block_in} (layer 0, entering
     * block 0), {@code block_out} (layer i >= 1, the output of block i-1) or, with {@code probe --sublayers},
     * {@code mid}: layer i plus block i's attention output, before its MLP (llama.cpp's ffn_inp-i / sa_out-i).
     */
    public record LayerEntry(
            int layer,
            String site,
            @SerializedName("entropy_nats") double entropyNats,
            @SerializedName("entropy_bits") double entropyBits,
            List<TopToken> top,
            List<Expected> expected,
            @SerializedName("kl_to_final_bits") double klToFinalBits,
            @SerializedName("cos_to_final") double cosToFinal,
            @SerializedName("residual_norm") double residualNorm) {
        public static final String BLOCK_IN = "block_in", BLOCK_OUT = "block_out", MID = "mid";

        /** A residual row (block_in for layer 0, else block_out). */
        public LayerEntry(int layer, double entropyNats, double entropyBits, List<TopToken> top, List<Expected> expected,
                          double klToFinalBits, double cosToFinal, double residualNorm) {
            this(layer, layer == 0 ? BLOCK_IN : BLOCK_OUT, entropyNats, entropyBits, top, expected, klToFinalBits,
                    cosToFinal, residualNorm);
        }

        /** Whether this is a mid-block row (after the attention, before the MLP). */
        public boolean mid() {
            return MID.equals(site);
        }

        public LayerEntry asMid() {
            return new LayerEntry(layer, MID, entropyNats, entropyBits, top, expected, klToFinalBits, cosToFinal, residualNorm);
        }
    }

    public record PositionEntry(int pos, int id, String token, List<LayerEntry> layers) {}

    public record FinalPrediction(
            @SerializedName("entropy_nats") double entropyNats,
            @SerializedName("entropy_bits") double entropyBits,
            List<TopToken> top) {}

    /**
     * The lens at the last layer against llama.cpp's logits ({@code klBits}, {@code maxAbsLogitDiff}, top-1), and
     * that gap split into what llama.cpp's activation rounding explains ({@code expected*}, the head recomputed
     * with the activations rounded to {@code activationRounding}) and what it does not ({@code unexplained*});
     * {@code warning} when the unexplained KL is above {@code warningBits}.
     */
    public record Consistency(
            @SerializedName("kl_bits") double klBits,
            @SerializedName("max_abs_logit_diff") double maxAbsLogitDiff,
            @SerializedName("top1_agree") boolean top1Agree,
            boolean warning,
            @SerializedName("activation_rounding") String activationRounding,
            @SerializedName("expected_kl_bits") Double expectedKlBits,
            @SerializedName("expected_max_abs_logit_diff") Double expectedMaxAbsLogitDiff,
            @SerializedName("unexplained_kl_bits") Double unexplainedKlBits,
            @SerializedName("unexplained_max_abs_logit_diff") Double unexplainedMaxAbsLogitDiff,
            @SerializedName("warning_bits") Double warningBits) {
        /** Without the split (older reports, tests). */
        public Consistency(double klBits, double maxAbsLogitDiff, boolean top1Agree, boolean warning) {
            this(klBits, maxAbsLogitDiff, top1Agree, warning, null, null, null, null, null, null);
        }
    }

    /** A layer milestone; {@code layer} is null when the condition is never met. */
    public record Milestone(Integer layer, Double fraction) {
        public static Milestone never() {
            return new Milestone(null, null);
        }
    }

    public record Milestones(
            @SerializedName("first_rank1") Milestone firstRank1,
            @SerializedName("first_rank_le_5") Milestone firstRankLe5,
            @SerializedName("first_rank_le_10") Milestone firstRankLe10,
            @SerializedName("first_kl_below_1_bit") Milestone firstKlBelow1Bit,
            @SerializedName("first_kl_below_0_5_bit") Milestone firstKlBelowHalfBit,
            @SerializedName("copy_collapse") Milestone copyCollapse,
            @SerializedName("copy_collapse_token") String copyCollapseToken) {}

    public record ExtraPrompt(
            String prompt,
            String expected,
            @SerializedName("expected_id") Integer expectedId,
            @SerializedName("expected_rank") Integer expectedRank,
            @SerializedName("expected_p") Double expectedP,
            @SerializedName("entropy_bits") double entropyBits,
            List<TopToken> top,
            @SerializedName("expected_tokens") Integer expectedTokens) {
        /** Without the answer's token count. */
        public ExtraPrompt(String prompt, String expected, Integer expectedId, Integer expectedRank, Double expectedP,
                           double entropyBits, List<TopToken> top) {
            this(prompt, expected, expectedId, expectedRank, expectedP, entropyBits, top, null);
        }
    }

    public record TemperaturePoint(
            double temperature,
            @SerializedName("entropy_bits") double entropyBits,
            List<TopToken> top) {}

    /**
     * Where a probe's time went. {@code forwardMs}: llama.cpp's forward pass over the prompt (the capture);
     * {@code extraForwardMs}: llama.cpp's other forward passes (the extra prompts, and the further answers of
     * {@code --answer-mode sequence}); {@code lensMs}: the Java lens and the head consistency check, including
     * any wait for the background warm-up ({@code dev.gguflens.lens.LensWarmup}); {@code reportMs}: building the
     * report from the results (rendering and writing files come after and are not in it).
     * {@code bareProductMs}: the output-weight product alone for the same vectors in the lens's own passes and
     * vocabulary blocks ({@code LogitLens.bareProductNanos}; no norm, softmax or statistics), measured only with
     * {@code --timings}, else null; lens minus it is what the streaming statistics cost.
     */
    public record Timings(
            @SerializedName("model_load_ms") double modelLoadMs,
            @SerializedName("forward_ms") double forwardMs,
            @SerializedName("extra_forward_ms") double extraForwardMs,
            @SerializedName("lens_ms") double lensMs,
            @SerializedName("bare_product_ms") Double bareProductMs,
            @SerializedName("report_ms") double reportMs,
            @SerializedName("peak_rss_bytes") long peakRssBytes) {
        /** Without other forward passes. */
        public Timings(double modelLoadMs, double forwardMs, double lensMs, Double bareProductMs, double reportMs,
                       long peakRssBytes) {
            this(modelLoadMs, forwardMs, 0, lensMs, bareProductMs, reportMs, peakRssBytes);
        }
    }
}
