package dev.gguflens.llama;

/**
 * How llama.cpp loads a model.
 *
 * @param gpuLayers layers to offload to a GPU backend (0 = CPU only, -1 = all); ignored without a GPU backend
 * @param useMmap   memory-map the file instead of reading it
 * @param repack    llama.cpp's CPU weight repacking (use_extra_bufts, GGML_CPU_REPACK): Q4_0, Q4_K, IQ4_NL, ...
 *                  weights copied into interleaved layouts for faster CPU matmuls, in anonymous memory beside the
 *                  mapped file (a Q4_K_M 8B model: +4.3 GiB)
 * @param progress  loading progress, may be null
 */
public record ModelParams(int gpuLayers, boolean useMmap, boolean repack, ProgressListener progress) {
    public ModelParams {
        if (gpuLayers < -1) {
            throw new IllegalArgumentException("gpuLayers must be -1 (all), 0 or positive, got " + gpuLayers);
        }
    }

    /** llama.cpp's own default: repacking on. */
    public ModelParams(int gpuLayers, boolean useMmap, ProgressListener progress) {
        this(gpuLayers, useMmap, true, progress);
    }

    public static ModelParams defaults() {
        return new ModelParams(0, true, null);
    }
}
