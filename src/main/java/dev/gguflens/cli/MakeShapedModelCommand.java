package dev.gguflens.cli;

import dev.gguflens.gguf.InputFiles;
import dev.gguflens.llama.ShapedRandomModel;
import dev.gguflens.report.OutputSet;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code gguf-lens make-shaped-model OUT --vocab FILE}: a random-weight Qwen3-8B-shaped Q4_K_M model for speed and
 * memory measurements (scripts/make-qwen3-8b-shaped.sh). Hidden: a developer's tool, not part of the lens; it is a
 * subcommand so the script gets bin/gguf-lens's build and JDK discovery instead of repeating them.
 */
@Command(name = "make-shaped-model", hidden = true, mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Writes a random-weight qwen3 model with Qwen3-8B's shapes and llama.cpp's Q4_K_M type mix",
            "(Q6_K output, attn_v and ffn_down where Q4_K_M uses more bits; Q4_K elsewhere), generated while writing."})
public final class MakeShapedModelCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "OUT.gguf", description = "The model to write (atomically).")
    Path output;

    @Option(names = "--vocab", required = true, paramLabel = "FILE.gguf",
            description = "Tokenizer source, e.g. the llama.cpp tree's models/ggml-vocab-qwen2.gguf (151936 tokens, as Qwen3).")
    Path vocab;

    @Option(names = "--blocks", paramLabel = "N", description = "Fewer blocks than Qwen3-8B's 36 (quick checks).")
    Integer blocks;

    @Option(names = "--seed", defaultValue = "1", paramLabel = "N", description = "Random seed (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = {"-q", "--quiet"}, description = "No progress lines.")
    boolean quiet;

    @Override
    public Integer call() throws IOException {
        InputFiles.requireRegularFile(vocab);
        ShapedRandomModel.Shape shape = ShapedRandomModel.Shape.QWEN3_8B;
        if (blocks != null) {
            if (blocks < 1 || blocks > shape.blocks()) throw new UsageException("--blocks " + blocks + " must be 1.." + shape.blocks());
            shape = shape.withBlocks(blocks);
        }
        Path dir = output.toAbsolutePath().getParent();
        if (dir == null || !Files.isDirectory(dir)) throw new UsageException("the folder of " + output + " does not exist");
        PrintWriter err = spec.commandLine().getErr();
        long start = System.nanoTime();
        ShapedRandomModel.Shape chosen = shape;
        // Staged by OutputSet like every other output: an interrupted 4.7 GiB write leaves no hidden file behind.
        OutputSet.writeFile(output, staged -> ShapedRandomModel.write(chosen, vocab, staged, seed, line -> {
            if (!quiet) {
                err.printf("make-shaped-model: %s (%.0f s)%n", line, (System.nanoTime() - start) / 1e9);
                err.flush();
            }
        }));
        if (!quiet) {
            try {
                spec.commandLine().getOut().printf("%s: %s, %.2f GiB, %.0f s%n", output, shape.name(),
                        Files.size(output) / (double) (1L << 30), (System.nanoTime() - start) / 1e9);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            spec.commandLine().getOut().flush();
        }
        return 0;
    }
}
