package dev.gguflens.cli;

import dev.gguflens.lens.LensKind;
import dev.gguflens.llama.LlamaBackend;
import picocli.CommandLine;
import picocli.CommandLine.Option;

import java.util.List;

/** Options every command that runs a model shares, spelled as llama.cpp spells them where they overlap. */
final class RunOptions {
    @Option(names = "--lens", defaultValue = "norm", paramLabel = "norm|raw|rms", converter = LensKindConverter.class,
            description = "norm: the model's own final norm per layer (default); raw: no norm; rms: RMS scaling without the norm weight.")
    LensKind lens;

    // -1 (all) rather than llama.cpp's 99: only a number the user gave warns when no GPU can take it.
    @Option(names = {"-ngl", "--gpu-layers"}, defaultValue = "-1", paramLabel = "N",
            description = "Layers to offload to a GPU or RPC device (default: all when there is one; 0 = CPU only).")
    int gpuLayers;

    @Option(names = "--rpc", split = ",", paramLabel = "HOST:PORT",
            description = "llama.cpp rpc-server(s) to put layers on, comma separated (as llama.cpp's --rpc).")
    List<String> rpcServers = List.of();

    @Option(names = {"-t", "--threads"}, paramLabel = "N", description = "Threads for llama.cpp and the lens (default: all cores).")
    Integer threads;

    @Option(names = {"-c", "--ctx-size"}, defaultValue = "2048", paramLabel = "N", description = "Context size (default ${DEFAULT-VALUE}).")
    int contextSize;

    /** Registers the --rpc servers with llama.cpp; call before loading a model. */
    void connectRpcServers() {
        for (String server : rpcServers) {
            try {
                LlamaBackend.addRpcServer(server.trim());
            } catch (IllegalArgumentException e) {
                throw new UsageException("--rpc: " + e.getMessage());
            }
        }
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
