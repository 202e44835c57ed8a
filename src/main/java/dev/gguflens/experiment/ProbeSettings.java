package dev.gguflens.experiment;

import dev.gguflens.lens.LensKind;
import dev.gguflens.llama.FlashAttention;
import dev.gguflens.llama.KvCacheType;

import java.util.List;

/**
 * How to run a probe. Invalid values are refused with an {@link InvalidInputException} naming the field
 * (top_k, threads, context_size, temperatures, kv_type).
 *
 * @param gpuLayers      layers offloaded to the GPU (llama.cpp's -ngl; ignored by a CPU-only build)
 * @param threads        threads for llama.cpp and for the Java lens
 * @param contextSize    llama.cpp context size; prompts longer than it are refused
 * @param temperatures   temperatures for the sweep over the final logits (may be empty)
 * @param kvCacheType    the KV cache type, or null for the default rule ({@link dev.gguflens.llama.KvCacheMemory})
 * @param flashAttention llama.cpp's flash attention, or null for the default (off; on for a quantised cache)
 * @param answerMode     how expected answers are followed
 */
public record ProbeSettings(LensKind lens, int topK, boolean allPositions, int gpuLayers, int threads, int contextSize,
                            List<Double> temperatures, KvCacheType kvCacheType, FlashAttention flashAttention,
                            AnswerMode answerMode) {
    public ProbeSettings {
        if (topK < 1) throw new InvalidInputException("top_k", topK, "must be at least 1");
        if (threads < 1) throw new InvalidInputException("threads", threads, "must be at least 1");
        if (contextSize < 1) throw new InvalidInputException("context_size", contextSize, "must be at least 1");
        temperatures = List.copyOf(temperatures);
        for (double t : temperatures) {
            if (!(t > 0)) throw new InvalidInputException("temperatures", t, "must be > 0");
        }
        // llama.cpp has no quantised V cache without flash attention; say so here instead of letting it refuse.
        if (kvCacheType != null && kvCacheType.quantized() && flashAttention == FlashAttention.OFF) {
            throw new InvalidInputException("kv_type", kvCacheType.llamaName(),
                    "needs flash attention: llama.cpp cannot run a quantised V cache with --flash-attn off (use on or auto)");
        }
        if (answerMode == null) answerMode = AnswerMode.FIRST;
    }

    /** Default KV cache and flash attention, first-token answers. */
    public ProbeSettings(LensKind lens, int topK, boolean allPositions, int gpuLayers, int threads, int contextSize,
                         List<Double> temperatures) {
        this(lens, topK, allPositions, gpuLayers, threads, contextSize, temperatures, null, null, AnswerMode.FIRST);
    }

    /** This run with another KV cache setting. */
    public ProbeSettings withKvCache(KvCacheType type, FlashAttention flash) {
        return new ProbeSettings(lens, topK, allPositions, gpuLayers, threads, contextSize, temperatures, type, flash, answerMode);
    }

    /** This run with another answer mode. */
    public ProbeSettings withAnswerMode(AnswerMode mode) {
        return new ProbeSettings(lens, topK, allPositions, gpuLayers, threads, contextSize, temperatures, kvCacheType,
                flashAttention, mode);
    }
}
