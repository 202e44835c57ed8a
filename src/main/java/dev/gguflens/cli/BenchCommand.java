package dev.gguflens.cli;

import com.google.gson.JsonArray;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import dev.gguflens.experiment.InvalidInputException;
import dev.gguflens.experiment.MatmulBench;
import dev.gguflens.experiment.MatmulBench.Case;
import dev.gguflens.experiment.MatmulBench.Result;
import dev.gguflens.experiment.MatmulBench.Timing;
import dev.gguflens.gguf.GgmlType;
import dev.gguflens.report.Json;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;

/** {@code gguf-lens bench}: the Java lens product against ggml's own CPU matmul on the same weight, in one run. */
@Command(name = "bench", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
            "Times the Java fused lens product (all vocabulary rows x M vectors) against ggml's own CPU mul_mat on the",
            "same weight bytes with the same thread count, alternating the two after a warm-up, and prints the median",
            "time, GFLOP/s (2*M*rows*cols/t), GB/s of weight read and the Java/ggml ratio. At the --lens-m batch sizes",
            "the full lens reduction (norm, product, softmax statistics, top-k, entropy, ranks, KL) is timed too.",
            "Without --model the weights are synthetic: random valid ggml blocks (random quants, small f16 scales) of",
            "Qwen3-8B's output-weight shape, 151936 x 4096; timing does not depend on the values."},
        footer = {"", "Examples:",
            "  gguf-lens bench",
            "  gguf-lens bench --types Q4_K --m 1,37,592 -t 8 --json",
            "  GGUF_LENS_JAVA_OPTS=-XX:MaxVectorSize=16 gguf-lens bench --types Q6_K,Q4_K --m 1,37   (128-bit vectors, as NEON)",
            "  gguf-lens bench --model models/Qwen3-8B-Q4_K_M.gguf --m 1,37",
            "", "Exit codes: 0 success, 1 runtime failure, 2 invalid usage."})
public final class BenchCommand implements Callable<Integer> {

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--types", split = ",", paramLabel = "TYPE[,TYPE...]",
            description = "Weight types for synthetic weights (default Q6_K,Q8_0,Q4_K,F16,BF16,F32).")
    List<String> types;

    @Option(names = "--m", split = ",", paramLabel = "M[,M...]",
            description = "Batch sizes: vectors per product (default 1,37; up to thousands, e.g. 592 = 37 layers x 16 positions).")
    List<Integer> ms = new ArrayList<>(List.of(1, 37));

    @Option(names = {"-t", "--threads"}, paramLabel = "N", description = "Threads for both Java and ggml (default: all cores).")
    Integer threads;

    @Option(names = "--model", paramLabel = "MODEL.gguf",
            description = "Use this GGUF's output.weight (or token_embd.weight) instead of synthetic weights.")
    Path model;

    @Option(names = "--reps", defaultValue = "7", paramLabel = "N", description = "Timed repetitions per side (default ${DEFAULT-VALUE}).")
    int reps;

    @Option(names = "--warmup", defaultValue = "2", paramLabel = "N", description = "Untimed warm-up repetitions per side, and at least 3 s of them (default ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--lens-m", split = ",", paramLabel = "M[,M...]",
            description = "Batch sizes at which the full lens reduction is timed too, where --m has them (default 37,592; 0 = never).")
    List<Integer> lensMs = new ArrayList<>(List.of(37, 592));

    @Option(names = "--machine", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Measure this machine's read bandwidth and FMA peak for the roofline (default on; --no-machine skips it).")
    boolean machine;

    @Option(names = "--json", description = "Print the results as JSON instead of a table.")
    boolean json;

    @Option(names = "--rows", hidden = true, defaultValue = "" + MatmulBench.DEFAULT_ROWS, description = "Synthetic weight rows.")
    int rows;

    @Option(names = "--cols", hidden = true, defaultValue = "" + MatmulBench.DEFAULT_COLS, description = "Synthetic weight columns.")
    int cols;

    @Option(names = "--seed", hidden = true, defaultValue = "1", description = "Seed of the synthetic weights and inputs.")
    long seed;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (model != null) {
            if (spec.commandLine().getParseResult().hasMatchedOption("--rows") || spec.commandLine().getParseResult().hasMatchedOption("--cols")) {
                throw new InvalidInputException("--rows/--cols shape synthetic weights; they cannot be used with --model");
            }
        }
        List<GgmlType> typeList = new ArrayList<>();
        List<String> names = types != null ? types : model != null ? List.of() : List.of("Q6_K", "Q8_0", "Q4_K", "F16", "BF16", "F32");
        for (String name : names) typeList.add(parseType(name));
        int nThreads = threads != null ? threads : Runtime.getRuntime().availableProcessors();
        MatmulBench.Settings settings = new MatmulBench.Settings(typeList, ms, nThreads, model, reps, warmup, rows, cols,
                Set.copyOf(lensMs), seed);
        Result result = MatmulBench.run(settings, machine, line -> {
            if (!json) {
                err.println("bench: " + line);
                err.flush();
            }
        });
        out.print(json ? toJson(result) + "\n" : table(result));
        out.flush();
        return 0;
    }

    private static GgmlType parseType(String name) {
        try {
            return GgmlType.valueOf(name.strip().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new InvalidInputException("--types: unknown ggml type '" + name + "' (e.g. Q6_K, Q8_0, Q4_K, F16, BF16, F32)");
        }
    }

    /** A fixed-width table plus the roofline and peak RSS lines. */
    static String table(Result r) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "Java fused lens product vs ggml CPU mul_mat, %d threads, median of %d reps after %d warm-up%n",
                r.threads(), r.reps(), r.warmup()));
        sb.append("weights: ").append(r.weightSource()).append('\n');
        sb.append("vectors: ").append(r.vectors()).append('\n');
        sb.append(String.format(Locale.ROOT, "%-5s %4s %9s %9s %9s %9s %8s %8s %8s %8s %9s %8s %9s%n", "type", "M", "weightMiB",
                "java ms", "ggml ms", "java/ggml", "java GF", "ggml GF", "java GB", "ggml GB", "lens ms", "lens/prd", "max rdiff"));
        for (Case c : r.cases()) {
            sb.append(String.format(Locale.ROOT, "%-5s %4d %9.1f %9.2f %9.2f %9.3f %8.1f %8.1f %8.1f %8.1f %9s %8s %9.2e%n",
                    c.type(), c.m(), c.weightBytes() / 1048576.0, c.java().medianMs(), c.ggml().medianMs(), c.javaOverGgml(),
                    c.gflops(c.java()), c.gflops(c.ggml()), c.weightGbPerSecond(c.java()), c.weightGbPerSecond(c.ggml()),
                    c.lens() == null ? "-" : String.format(Locale.ROOT, "%.2f", c.lens().medianMs()),
                    c.lens() == null ? "-" : String.format(Locale.ROOT, "%+.1f%%", 100 * c.lensOverhead()),
                    c.maxRelativeDifference()));
        }
        sb.append("(GF = GFLOP/s, 2*M*rows*cols per product; GB = GB/s of weight bytes read once per product; lens/prd =\n"
                + " full lens reduction over the bare Java product; max rdiff = max|java-ggml| / max|java|)\n");
        for (Case c : r.cases()) {
            if (c.javaBoxed()) {
                sb.append(String.format(Locale.ROOT, "JIT failure: %s M=%d: the Java product allocated %.0f MiB per run (vectors"
                        + " boxed: C2 compiled a kernel without its vector intrinsics); its time is that failure's, not the"
                        + " kernel's. It depends on what ran before it in the process: time the case alone (--types %s --m %d)%n",
                        c.type(), c.m(), c.javaAllocatedBytes() / 1048576.0, c.type(), c.m()));
            }
        }
        if (!Double.isNaN(r.readBandwidthGbps())) {
            sb.append(String.format(Locale.ROOT, "machine (%d threads): read bandwidth %.1f GB/s, Java vector FMA peak %.1f GFLOP/s%n",
                    r.threads(), r.readBandwidthGbps(), r.peakFmaGflops()));
        }
        sb.append(String.format(Locale.ROOT, "peak RSS: %s%n", r.peakRssBytes() < 0 ? "unknown" : String.format(Locale.ROOT, "%.1f MiB", r.peakRssBytes() / 1048576.0)));
        return sb.toString();
    }

    static String toJson(Result r) {
        JsonObject root = new JsonObject();
        root.addProperty("weights", r.weightSource());
        root.addProperty("vectors", r.vectors());
        root.addProperty("threads", r.threads());
        root.addProperty("reps", r.reps());
        root.addProperty("warmup", r.warmup());
        root.addProperty("peak_rss_bytes", r.peakRssBytes());
        root.add("read_bandwidth_gbps", Json.finiteOrNull(r.readBandwidthGbps()));
        root.add("peak_fma_gflops", Json.finiteOrNull(r.peakFmaGflops()));
        JsonArray cases = new JsonArray();
        for (Case c : r.cases()) {
            JsonObject o = new JsonObject();
            o.addProperty("type", c.type().name());
            o.addProperty("m", c.m());
            o.addProperty("rows", c.rows());
            o.addProperty("cols", c.cols());
            o.addProperty("weight_bytes", c.weightBytes());
            o.addProperty("flops", c.flops());
            o.add("java", timing(c.java()));
            o.add("ggml", timing(c.ggml()));
            o.add("lens", c.lens() == null ? JsonNull.INSTANCE : timing(c.lens()));
            o.addProperty("java_over_ggml", c.javaOverGgml());
            o.addProperty("java_gflops", c.gflops(c.java()));
            o.addProperty("ggml_gflops", c.gflops(c.ggml()));
            o.addProperty("java_weight_gbps", c.weightGbPerSecond(c.java()));
            o.addProperty("ggml_weight_gbps", c.weightGbPerSecond(c.ggml()));
            o.add("lens_over_product", Json.finiteOrNull(c.lensOverhead()));
            o.addProperty("max_relative_difference", c.maxRelativeDifference());
            o.addProperty("java_allocated_bytes", c.javaAllocatedBytes());
            o.addProperty("java_boxed", c.javaBoxed());
            cases.add(o);
        }
        root.add("cases", cases);
        return Json.pretty(root);
    }

    private static JsonObject timing(Timing t) {
        JsonObject o = new JsonObject();
        o.addProperty("median_ms", t.medianMs());
        o.addProperty("min_ms", t.minMs());
        o.addProperty("max_ms", t.maxMs());
        JsonArray samples = new JsonArray();
        t.samplesMs().forEach(samples::add);
        o.add("samples_ms", samples);
        return o;
    }
}
