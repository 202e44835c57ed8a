package dev.gguflens.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code gguf-lens quantize IN OUT TYPE}: llama.cpp's quantiser through the binding, written atomically. */
@Command(name = "quantize", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Quantises a GGUF model with llama.cpp's own quantiser (llama_model_quantize).",
            "OUT appears only once complete (written to a hidden temporary file, then renamed)."},
        footer = {"", "Example:", "  gguf-lens quantize Qwen3-8B-F16.gguf Qwen3-8B-Q4_K_M.gguf Q4_K_M",
            "", "Exit codes: 0 success, 1 runtime failure (bad file, llama.cpp error), 2 invalid usage."})
public final class QuantizeCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "IN.gguf", description = "The model to quantise (F32/F16/BF16 for best results).")
    Path input;

    @Parameters(index = "1", paramLabel = "OUT.gguf", description = "The quantised file to write.")
    Path output;

    @Parameters(index = "2", paramLabel = "TYPE", description = "One of F32, F16, BF16, Q8_0, Q6_K, Q5_K_M, Q5_K_S, Q5_0, Q5_1, Q4_K_M, Q4_K_S, Q4_0, Q4_1, "
                    + "Q3_K_L, Q3_K_M, Q3_K_S, Q2_K, IQ4_NL, TQ1_0, TQ2_0.")
    String type;

    @Option(names = {"-t", "--threads"}, paramLabel = "N", description = "Quantisation threads (default: all cores).")
    Integer threads;

    @Option(names = "--imatrix", paramLabel = "FILE",
            description = "Importance matrix (llama-imatrix's GGUF output) guiding the quantiser; i-quants such as IQ2_XXS need one.")
    java.nio.file.Path imatrix;

    @Option(names = {"-q", "--quiet"}, description = "No summary line.")
    boolean quiet;

    @Override
    public Integer call() {
        String canonical = QuantizedVariants.parseTypes(List.of(type)).getFirst();
        dev.gguflens.gguf.InputFiles.requireRegularFile(input);
        if (threads != null && threads < 1) throw new UsageException("-t " + threads + " must be at least 1");
        if (input.toAbsolutePath().normalize().equals(output.toAbsolutePath().normalize())) {
            throw new UsageException("quantising " + input + " onto itself; choose another output file");
        }
        long start = System.nanoTime();
        var guide = imatrix == null ? null : dev.gguflens.llama.ImportanceMatrix.load(imatrix);
        QuantizedVariants.quantizeAtomically(input, output, canonical, threads == null ? 0 : threads, guide);
        if (!quiet) {
            try {
                spec.commandLine().getOut().printf("%s -> %s (%s, %.1f MiB, %.1f s)%n", input, output, canonical,
                        Files.size(output) / 1048576.0, (System.nanoTime() - start) / 1e9);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            spec.commandLine().getOut().flush();
        }
        return 0;
    }
}
