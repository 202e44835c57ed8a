package dev.gguflens.llama;

/**
 * How llama.cpp loads a model.
 *
 * @param gpuLayers layers to offload to a GPU backend (0 = CPU only, -1 = all); ignored without a GPU backend
 * @param useMmap   memory-map the file instead of reading it
 * @param repack    llama.cpp's CPU weight repacking (use_extra_bufts, GGML_CPU_REPACK): Q4_0, Q4_K, IQ4_NL, ...
 *                  weights copied into interleaved layouts for faster CPU matmuls, in anonymous memory beside the
 *                  mapped file (a Q4_K_M 8B model: +2.9 GiB peak RSS)
 * @param progress  loading progress, may be null
 * @param placement main GPU and split mode over several devices (llama.cpp's --main-gpu, --split-mode)
 */
public record ModelParams(int gpuLayers, boolean useMmap, boolean repack, ProgressListener progress, GpuPlacement placement) {
    public ModelParams {
        if (gpuLayers < -1) {
            throw new IllegalArgumentException("gpuLayers must be -1 (all), 0 or positive, got " + gpuLayers);
        }
        if (placement == null) placement = GpuPlacement.DEFAULT;
    }

    /** llama.cpp's default placement and repacking (on). */
    public ModelParams(int gpuLayers, boolean useMmap, ProgressListener progress) {
        this(gpuLayers, useMmap, true, progress, GpuPlacement.DEFAULT);
    }

    /** llama.cpp's default repacking (on). */
    public ModelParams(int gpuLayers, boolean useMmap, ProgressListener progress, GpuPlacement placement) {
        this(gpuLayers, useMmap, true, progress, placement);
    }

    /** llama.cpp's default placement. */
    public ModelParams(int gpuLayers, boolean useMmap, boolean repack, ProgressListener progress) {
        this(gpuLayers, useMmap, repack, progress, GpuPlacement.DEFAULT);
    }

    public static ModelParams defaults() {
        return new ModelParams(0, true, null);
    }
}
