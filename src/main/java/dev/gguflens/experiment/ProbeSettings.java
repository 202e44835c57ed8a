package dev.gguflens.experiment;

import dev.gguflens.lens.LensKind;
import dev.gguflens.llama.FlashAttention;
import dev.gguflens.llama.GpuPlacement;
import dev.gguflens.llama.KvCacheType;
import dev.gguflens.llama.ModelParams;

import java.util.List;

/**
 * How to run a probe. Invalid values are refused with an {@link InvalidInputException} naming the field
 * (top_k, threads, context_size, temperatures, kv_type).
 *
 * @param gpuLayers      layers offloaded to the GPU (llama.cpp's -ngl; ignored by a CPU-only build)
 * @param threads        threads for llama.cpp and for the Java lens
 * @param contextSize    llama.cpp context size, 0 for the default (the model's trained context, at most
 *                       {@link #DEFAULT_CONTEXT}); prompts longer than it are refused
 * @param temperatures   temperatures for the sweep over the final logits (may be empty)
 * @param kvCacheType    the KV cache type, or null for the default rule ({@link dev.gguflens.llama.KvCacheMemory})
 * @param flashAttention llama.cpp's flash attention, or null for the default (off; on for a quantised cache)
 * @param answerMode     how expected answers are followed
 * @param forceContext   allow a context size above the model's trained context
 * @param placement      main GPU and split mode (llama.cpp's --main-gpu, --split-mode), checked against the devices at load
 * @param repack         llama.cpp's CPU weight repacking ({@link dev.gguflens.llama.ModelParams#repack}), or null for
 *                       the binding's default ({@link ModelParams#REPACK_BY_DEFAULT})
 */
public record ProbeSettings(LensKind lens, int topK, boolean allPositions, int gpuLayers, int threads, int contextSize,
                            List<Double> temperatures, KvCacheType kvCacheType, FlashAttention flashAttention,
                            AnswerMode answerMode, boolean forceContext, GpuPlacement placement, Boolean repack) {
    /** Context size when none is given and the model was trained on at least this many tokens. */
    public static final int DEFAULT_CONTEXT = 2048;
    /** ggml's GGML_MAX_N_THREADS: a thread pool larger than this is refused by ggml. */
    public static final int MAX_THREADS = 512;
    /** Largest context even when forced: llama.cpp's sizes are 32-bit and the KV cache grows with it. */
    public static final int MAX_CONTEXT = 1 << 24;

    public ProbeSettings {
        if (topK < 1) throw new InvalidInputException("top_k", topK, "must be at least 1");
        if (threads < 1) throw new InvalidInputException("threads", threads, "must be at least 1");
        if (threads > MAX_THREADS) throw new InvalidInputException("threads", threads, "must be at most " + MAX_THREADS + " (ggml's thread limit)");
        if (contextSize < 0) throw new InvalidInputException("context_size", contextSize, "must be at least 1");
        if (contextSize > MAX_CONTEXT) throw new InvalidInputException("context_size", contextSize, "must be at most " + MAX_CONTEXT);
        temperatures = List.copyOf(temperatures);
        for (double t : temperatures) {
            if (!(t > 0) || Double.isInfinite(t)) throw new InvalidInputException("temperatures", t, "must be finite and > 0");
        }
        // llama.cpp has no quantised V cache without flash attention; say so here instead of letting it refuse.
        if (kvCacheType != null && kvCacheType.quantized() && flashAttention == FlashAttention.OFF) {
            throw new InvalidInputException("kv_type", kvCacheType.llamaName(),
                    "needs flash attention: llama.cpp cannot run a quantised V cache with --flash-attn off (use on or auto)");
        }
        if (answerMode == null) answerMode = AnswerMode.FIRST;
        if (placement == null) placement = GpuPlacement.DEFAULT;
    }

    /** llama.cpp's default placement (main GPU 0, split by layer). */
    public ProbeSettings(LensKind lens, int topK, boolean allPositions, int gpuLayers, int threads, int contextSize,
                         List<Double> temperatures, KvCacheType kvCacheType, FlashAttention flashAttention,
                         AnswerMode answerMode, boolean forceContext) {
        this(lens, topK, allPositions, gpuLayers, threads, contextSize, temperatures, kvCacheType, flashAttention,
                answerMode, forceContext, GpuPlacement.DEFAULT, null);
    }

    /** Default KV cache and flash attention, first-token answers. */
    public ProbeSettings(LensKind lens, int topK, boolean allPositions, int gpuLayers, int threads, int contextSize,
                         List<Double> temperatures) {
        this(lens, topK, allPositions, gpuLayers, threads, contextSize, temperatures, null, null, AnswerMode.FIRST);
    }

    /** As the canonical constructor, without forcing a context above the trained one. */
    public ProbeSettings(LensKind lens, int topK, boolean allPositions, int gpuLayers, int threads, int contextSize,
                         List<Double> temperatures, KvCacheType kvCacheType, FlashAttention flashAttention, AnswerMode answerMode) {
        this(lens, topK, allPositions, gpuLayers, threads, contextSize, temperatures, kvCacheType, flashAttention, answerMode, false);
    }

    /** This run with another KV cache setting. */
    public ProbeSettings withKvCache(KvCacheType type, FlashAttention flash) {
        return new ProbeSettings(lens, topK, allPositions, gpuLayers, threads, contextSize, temperatures, type, flash, answerMode,
                forceContext, placement, repack);
    }

    /** This run with another answer mode. */
    public ProbeSettings withAnswerMode(AnswerMode mode) {
        return new ProbeSettings(lens, topK, allPositions, gpuLayers, threads, contextSize, temperatures, kvCacheType,
                flashAttention, mode, forceContext, placement, repack);
    }

    /** This run with another main GPU / split mode. */
    public ProbeSettings withPlacement(GpuPlacement newPlacement) {
        return new ProbeSettings(lens, topK, allPositions, gpuLayers, threads, contextSize, temperatures, kvCacheType,
                flashAttention, answerMode, forceContext, newPlacement, repack);
    }

    /** This run at every prompt position (the heatmap) or at the last one only. */
    public ProbeSettings withAllPositions(boolean all) {
        return new ProbeSettings(lens, topK, all, gpuLayers, threads, contextSize, temperatures, kvCacheType,
                flashAttention, answerMode, forceContext, placement, repack);
    }

    /** This run with another temperature sweep (empty: none). */
    public ProbeSettings withTemperatures(List<Double> sweep) {
        return new ProbeSettings(lens, topK, allPositions, gpuLayers, threads, contextSize, sweep, kvCacheType,
                flashAttention, answerMode, forceContext, placement, repack);
    }

    /** Whether llama.cpp repacks the weights: as asked, else the binding's default. */
    public boolean repackOrDefault() {
        return repack != null ? repack : ModelParams.REPACK_BY_DEFAULT;
    }
}
