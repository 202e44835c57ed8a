package dev.gguflens.experiment;

import dev.gguflens.lens.LensKind;

import java.util.List;

/**
 * How to run a probe. Invalid values are refused with an {@link InvalidInputException} naming the field
 * (top_k, threads, context_size, temperatures).
 *
 * @param gpuLayers    layers offloaded to the GPU (llama.cpp's -ngl; ignored by a CPU-only build)
 * @param threads      threads for llama.cpp and for the Java lens
 * @param contextSize  llama.cpp context size; prompts longer than it are refused
 * @param temperatures temperatures for the sweep over the final logits (may be empty)
 */
public record ProbeSettings(LensKind lens, int topK, boolean allPositions, int gpuLayers, int threads, int contextSize,
                            List<Double> temperatures) {
    public ProbeSettings {
        if (topK < 1) throw new InvalidInputException("top_k", topK, "must be at least 1");
        if (threads < 1) throw new InvalidInputException("threads", threads, "must be at least 1");
        if (contextSize < 1) throw new InvalidInputException("context_size", contextSize, "must be at least 1");
        temperatures = List.copyOf(temperatures);
        for (double t : temperatures) {
            if (!(t > 0)) throw new InvalidInputException("temperatures", t, "must be > 0");
        }
    }
}
