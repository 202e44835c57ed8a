package dev.gguflens.llama;

/**
 * How llama.cpp loads a model.
 *
 * @param gpuLayers layers to offload to a GPU backend (0 = CPU only, -1 = all); ignored without a GPU backend
 * @param useMmap   memory-map the file instead of reading it
 * @param progress  loading progress, may be null
 * @param placement main GPU and split mode over several devices (llama.cpp's --main-gpu, --split-mode)
 */
public record ModelParams(int gpuLayers, boolean useMmap, ProgressListener progress, GpuPlacement placement) {
    public ModelParams {
        if (gpuLayers < -1) {
            throw new IllegalArgumentException("gpuLayers must be -1 (all), 0 or positive, got " + gpuLayers);
        }
        if (placement == null) placement = GpuPlacement.DEFAULT;
    }

    /** llama.cpp's default placement. */
    public ModelParams(int gpuLayers, boolean useMmap, ProgressListener progress) {
        this(gpuLayers, useMmap, progress, GpuPlacement.DEFAULT);
    }

    public static ModelParams defaults() {
        return new ModelParams(0, true, null);
    }
}
