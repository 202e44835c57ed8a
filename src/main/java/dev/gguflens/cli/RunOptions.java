package dev.gguflens.cli;

import dev.gguflens.lens.LensKind;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/** Options every command that runs a model shares, spelled as llama.cpp spells them where they overlap. */
final class RunOptions {
    @Option(names = "--lens", defaultValue = "norm", paramLabel = "norm|raw|rms", converter = LensKindConverter.class,
            description = "norm: the model's own final norm per layer (default); raw: no norm; rms: RMS scaling without the norm weight.")
    LensKind lens;

    @Option(names = {"-ngl", "--gpu-layers"}, defaultValue = "99", paramLabel = "N",
            description = "Layers to offload to the GPU (CUDA/Metal builds; default ${DEFAULT-VALUE} = all).")
    int gpuLayers;

    @Option(names = {"-t", "--threads"}, paramLabel = "N", description = "Threads for llama.cpp and the lens (default: all cores).")
    Integer threads;

    @Option(names = {"-c", "--ctx-size"}, paramLabel = "N",
            description = "Context size (default: the model's trained context, at most 2048); above the trained context only with --force-context.")
    Integer contextSize;

    @Option(names = "--force-context", description = "Allow -c above the context the model was trained on.")
    boolean forceContext;

    /** -c as ProbeSettings takes it: 0 for the default (the model's trained context, at most 2048). */
    int contextSize() {
        if (contextSize == null) return 0;
        if (contextSize < 1) throw new dev.gguflens.experiment.InvalidInputException("context_size", contextSize, "must be at least 1");
        return contextSize;
    }

    int threadCount() {
        return threads != null ? threads : Runtime.getRuntime().availableProcessors();
    }

    /** Accepts norm/raw/rms in any case; anything else is a usage error listing the choices. */
    static final class LensKindConverter implements CommandLine.ITypeConverter<LensKind> {
        @Override
        public LensKind convert(String value) {
            for (LensKind k : LensKind.values()) if (k.name().equalsIgnoreCase(value)) return k;
            throw new CommandLine.TypeConversionException("unknown lens '" + value + "' (choose norm, raw or rms)");
        }
    }
}
