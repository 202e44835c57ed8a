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

    /**
     * The project's repacking default: off, unlike llama.cpp's. Measured on a Qwen3-8B-shaped Q4_K_M (4.68 GiB;
     * 2-core AVX2 EPYC, load ~14, 11-token prompt): the repacked copy did not make the forward pass faster (46.0 s
     * on vs 47.7 s off, within the noise), made loading 2.8x slower (36 s vs 13 s) and raised the peak RSS from 7.7
     * to 10.6 GiB. The lens's users run short prompts once; --repack on is for long prompts on machines whose
     * repacked kernels pay off. Every load goes through this one default, tests and tools included.
     */
    public static final boolean REPACK_BY_DEFAULT = false;

    /** The default placement and repacking. */
    public ModelParams(int gpuLayers, boolean useMmap, ProgressListener progress) {
        this(gpuLayers, useMmap, REPACK_BY_DEFAULT, progress, GpuPlacement.DEFAULT);
    }

    /** llama.cpp's default placement. */
    public ModelParams(int gpuLayers, boolean useMmap, boolean repack, ProgressListener progress) {
        this(gpuLayers, useMmap, repack, progress, GpuPlacement.DEFAULT);
    }

    public static ModelParams defaults() {
        return new ModelParams(0, true, null);
    }
}
