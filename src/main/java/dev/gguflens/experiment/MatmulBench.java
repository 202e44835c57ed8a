package dev.gguflens.experiment;

import dev.gguflens.gguf.GgmlType;
import dev.gguflens.gguf.GgufException;
import dev.gguflens.gguf.GgufFile;
import dev.gguflens.gguf.GgufTensor;
import dev.gguflens.lens.LayerStates;
import dev.gguflens.lens.HeadLookup;
import dev.gguflens.lens.LensHead;
import dev.gguflens.lens.LensKind;
import dev.gguflens.lens.LensRequest;
import dev.gguflens.lens.LensWarmup;
import dev.gguflens.lens.LogitLens;
import dev.gguflens.lens.LogitProjection;
import dev.gguflens.lens.NormKind;
import dev.gguflens.lens.TrackedToken;
import dev.gguflens.llama.GgmlMatmul;
import dev.gguflens.llama.RandomWeights;
import dev.gguflens.quant.FusedMatmul;
import dev.gguflens.quant.Kernels;
import dev.gguflens.quant.WeightMatrix;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.OptionalDouble;
import java.util.Random;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The Java fused lens product against ggml's own CPU mul_mat on the same weight bytes and thread count, in one
 * process: for each weight type and batch size M both are warmed up and then timed in alternation (the order
 * flips every repetition, so slow drift from other load or clocks hits both alike). Optionally the full lens
 * reduction (LogitLens.run with the NORM lens: norm, product, softmax statistics, top-k, entropy, ranks and KL to
 * the final layer over M layer rows at one position) is timed beside them.
 */
public final class MatmulBench {
    /** Qwen3-8B's output weight: n_vocab x n_embd. */
    public static final int DEFAULT_ROWS = 151936;
    public static final int DEFAULT_COLS = 4096;

    private MatmulBench() {}

    /**
     * What to run.
     *
     * @param types   weight types for synthetic weights (ignored entries are rejected; with a model: its one type)
     * @param ms      batch sizes M (vectors per product)
     * @param threads threads for both sides
     * @param model   a GGUF whose output.weight (or token_embd.weight) is used, or null for synthetic weights
     * @param reps    timed repetitions of each side, after {@code warmup} untimed ones
     * @param rows    synthetic weight rows (vocabulary)
     * @param cols    synthetic weight columns (embedding length)
     * @param lensMs  batch sizes at which the full lens reduction is timed too
     * @param seed    seed of the synthetic weights and inputs
     */
    public record Settings(List<GgmlType> types, List<Integer> ms, int threads, Path model, int reps, int warmup,
                           int rows, int cols, Set<Integer> lensMs, long seed) {
        public Settings {
            types = List.copyOf(types);
            ms = List.copyOf(ms);
            lensMs = Set.copyOf(lensMs);
            if (model == null && types.isEmpty()) throw new InvalidInputException("weight_types", "", "lists no types");
            if (ms.isEmpty()) throw new InvalidInputException("batch_sizes", "", "lists no batch sizes");
            for (int m : ms) if (m < 1) throw new InvalidInputException("batch_sizes", m, "must be >= 1");
            if (threads < 1) throw new InvalidInputException("threads", threads, "must be >= 1");
            if (reps < 1) throw new InvalidInputException("repetitions", reps, "must be >= 1");
            if (warmup < 0) throw new InvalidInputException("warmup", warmup, "must be >= 0");
            if (rows < 1 || cols < 1) throw new InvalidInputException("rows", rows, "and cols " + cols + " must be >= 1");
            for (GgmlType t : types) {
                if (!RandomWeights.supports(t) || !GgmlMatmul.SUPPORTED_TYPES.contains(t) || !Kernels.supports(t)) {
                    throw new InvalidInputException("weight_types", t.name(), "is not supported for synthetic weights");
                }
                if (model == null && cols % t.blockSize != 0) {
                    throw new InvalidInputException("cols", cols, "is not a multiple of the " + t
                            + " block size " + t.blockSize);
                }
            }
        }
    }

    /** Wall-clock samples of one side, in milliseconds. */
    public record Timing(double medianMs, double minMs, double maxMs, List<Double> samplesMs) {
        public Timing {
            samplesMs = List.copyOf(samplesMs);
        }

        static Timing of(long[] nanos) {
            double[] ms = Arrays.stream(nanos).mapToDouble(n -> n / 1e6).toArray();
            double[] sorted = ms.clone();
            Arrays.sort(sorted);
            int n = sorted.length;
            double median = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
            return new Timing(median, sorted[0], sorted[n - 1], Arrays.stream(ms).boxed().toList());
        }
    }

    /**
     * One (type, M) measurement.
     *
     * @param lens                  the full lens reduction, or null where it was not timed
     * @param maxRelativeDifference max |y_java - y_ggml| / max |y_java|: ggml quantises the activations, so this is
     *                              small but not zero for quantised weights
     * @param javaAllocatedBytes    heap bytes the JVM's threads allocated during one timed Java product (the median
     *                              over the reps), or -1 where the JVM does not count them
     */
    public record Case(GgmlType type, int m, int rows, int cols, long weightBytes, Timing java, Timing ggml, Timing lens,
                       double maxRelativeDifference, long javaAllocatedBytes) {
        /**
         * Heap bytes per product above which the Java time is a JIT failure's, not the kernel's: the products allocate
         * only small per-call scratch (healthy runs: well under a MiB), while a kernel that C2 compiled without its
         * vector intrinsics boxes every vector it computes, gigabytes per product (Q4_K at 128 bits, m = 1: 80-180
         * young collections in one bench case, 2-5x the kernel's time).
         */
        public static final long BOXED_VECTORS_BYTES = 64L << 20;

        /** Whether the Java product allocated like a kernel running with boxed vectors (see BOXED_VECTORS_BYTES). */
        public boolean javaBoxed() {
            return javaAllocatedBytes > BOXED_VECTORS_BYTES;
        }

        /** Java median / ggml median: below 1 Java is faster. */
        public double javaOverGgml() {
            return java.medianMs() / ggml.medianMs();
        }

        /** 2·M·rows·cols floating-point operations per product. */
        public double flops() {
            return 2.0 * m * rows * cols;
        }

        public double gflops(Timing t) {
            return flops() / (t.medianMs() * 1e6);
        }

        /** Weight bytes read per product (once) over the median time. */
        public double weightGbPerSecond(Timing t) {
            return weightBytes / (t.medianMs() * 1e6);
        }

        /** Lens reduction median / bare Java product median - 1, or NaN without a lens timing. */
        public double lensOverhead() {
            return lens == null ? Double.NaN : lens.medianMs() / java.medianMs() - 1;
        }
    }

    /**
     * The whole run.
     *
     * @param weightSource       what the weights were: "synthetic ..." or the model file and tensor
     * @param readBandwidthGbps  this machine's measured read bandwidth (see {@link MachineRoofline}), NaN if not measured
     * @param peakFmaGflops      measured Java vector FMA peak, NaN if not measured
     * @param vectors            the vector width the kernels ran at and the CPU's SIMD features
     */
    public record Result(String weightSource, String vectors, int threads, int reps, int warmup, List<Case> cases, long peakRssBytes,
                         double readBandwidthGbps, double peakFmaGflops) {
        public Result {
            cases = List.copyOf(cases);
        }
    }

    /** Runs every (type, M); {@code progress} gets a line per step (may be a no-op). */
    public static Result run(Settings s, boolean measureMachine, Consumer<String> progress) {
        Objects.requireNonNull(progress, "progress");
        List<Case> cases = new ArrayList<>();
        String source;
        if (s.model() != null) {
            String problem = dev.gguflens.gguf.InputFiles.problem(s.model());
            if (problem != null) throw new InvalidInputException(s.model() + ": " + problem);
            try (GgufFile file = GgufFile.open(s.model())) {
                GgufTensor t = file.tensor("output.weight").or(() -> file.tensor("token_embd.weight"))
                        .orElseThrow(() -> new GgufException(file.path(), "neither output.weight nor token_embd.weight is present"));
                if (!s.types().isEmpty() && !s.types().equals(List.of(t.type()))) {
                    throw new InvalidInputException("weight_types",
                            String.join(",", s.types().stream().map(GgmlType::name).toList()),
                            "cannot choose another type for a model's weight: " + s.model() + " tensor " + t.name() + " is " + t.type());
                }
                dev.gguflens.gguf.ModelCompatibility.checkMatrix(file, t);
                Kernels.requireSupported(t.type(), t.name());
                WeightMatrix w = new WeightMatrix(t.type(), t.data(), Math.toIntExact(t.rowCount()), Math.toIntExact(t.rowLength()));
                LensHead head = HeadLookup.fromGguf(file);
                source = s.model() + " " + t.name() + " (" + t.type() + " " + w.rows() + " x " + w.cols() + ")";
                for (int m : s.ms()) requireHeapFor(m, w.rows(), w.cols());
                for (int m : s.ms()) cases.add(measure(w, head, m, s, progress));
            }
        } else {
            source = "synthetic random valid blocks, " + s.rows() + " x " + s.cols() + " per type";
            for (int m : s.ms()) requireHeapFor(m, s.rows(), s.cols());
            for (GgmlType type : s.types()) {
                try (Arena arena = Arena.ofShared()) {
                    progress.accept("generating a " + type + " " + s.rows() + " x " + s.cols() + " weight");
                    MemorySegment bytes = RandomWeights.allocate(arena, type, s.rows(), s.cols(), s.seed() + type.id);
                    WeightMatrix w = new WeightMatrix(type, bytes, s.rows(), s.cols());
                    float[] gamma = new float[s.cols()];
                    Arrays.fill(gamma, 1f);
                    LensHead head = new LensHead("qwen3", NormKind.RMS_NORM, gamma, null, 1e-6f, LogitProjection.of(w), null,
                            OptionalDouble.empty(), OptionalDouble.empty());
                    for (int m : s.ms()) cases.add(measure(w, head, m, s, progress));
                }
            }
        }
        double bandwidth = Double.NaN, fma = Double.NaN;
        if (measureMachine) {
            progress.accept("measuring read bandwidth and FMA peak with " + s.threads() + " threads");
            bandwidth = MachineRoofline.readBandwidthGbps(s.threads());
            fma = MachineRoofline.peakFmaGflops(s.threads());
        }
        return new Result(source, MachineRoofline.vectorDescription(), s.threads(), s.reps(), s.warmup(), cases, PeakMemory.peakRssBytes(), bandwidth, fma);
    }

    /**
     * Fails, before any weight is generated or timed, when x and the two outputs of an M-vector product (Java's and
     * ggml's, compared at the end) would not fit the heap: at M = 592 over 151936 rows the outputs alone are 720 MB,
     * which a 1 GiB heap ended in an OutOfMemoryError's stack trace.
     */
    static void requireHeapFor(int m, int rows, int cols) {
        long heapBytes = 4L * ((long) m * cols + 2L * m * rows);
        long heapLimit = Runtime.getRuntime().maxMemory();
        if (heapBytes > heapLimit * HEAP_SHARE) {
            long suggestedGib = (long) Math.ceil(heapBytes / HEAP_SHARE / (1L << 30));
            throw new InvalidInputException("batch_sizes", m, "needs about " + (heapBytes >> 20) + " MiB of Java heap for x and"
                    + " the two " + rows + "-row outputs, more than this JVM's " + (heapLimit >> 20) + " MiB allow; use a"
                    + " smaller M or more heap (GGUF_LENS_JAVA_OPTS=-Xmx" + suggestedGib + "g)");
        }
    }

    /** Share of the heap bench lets one case's arrays take; the rest is for the lens's blocks and the generated rows. */
    private static final double HEAP_SHARE = 0.85;

    private static Case measure(WeightMatrix w, LensHead head, int m, Settings s, Consumer<String> progress) {
        progress.accept("timing " + w.type() + " M=" + m);
        if ((long) m * w.rows() > Integer.MAX_VALUE - 8 || (long) m * w.cols() > Integer.MAX_VALUE - 8) {
            throw new InvalidInputException("bench: batch size M " + m + " times " + w.rows() + " rows does not fit in one"
                    + " float array; use a smaller --m");
        }
        Random random = new Random(s.seed() * 31 + m);
        float[] x = new float[m * w.cols()];
        for (int i = 0; i < x.length; i++) x[i] = (float) random.nextGaussian();
        float[] yJava = new float[m * w.rows()];
        boolean withLens = s.lensMs().contains(m);
        LayerStates states = withLens ? randomStates(m, w.cols(), random) : null;
        LensRequest request = new LensRequest(LensKind.NORM, 10, new int[] {0}, List.of(new TrackedToken("probe", 0)));
        if (withLens) {
            // The lens's statistics and blocks are compiled by C2 only after many runs; timed after the few runs of the
            // warm-up below they still ran partly compiled (the lens falling from 1.5x to 1.0x the blocked product
            // over 8 runs). The probe's own warm-up, to its settled end, makes the lens's column a steady state.
            LensWarmup.start(head, new LensWarmup.Expectation(LensKind.NORM, request.topK(), m, 1, request.tracked().size(),
                    false, false, false), s.threads(), false, true).awaitWarmed();
        }
        try (GgmlMatmul ggml = new GgmlMatmul(w.type(), w.data(), w.rows(), w.cols(), m, s.threads())) {
            ggml.setInput(x);
            List<Runnable> sides = new ArrayList<>(List.of(
                    () -> FusedMatmul.multiply(w, x, m, yJava, s.threads()),
                    ggml::compute));
            if (withLens) sides.add(() -> LogitLens.run(head, states, request, s.threads()));
            long[][] nanos = new long[sides.size()][s.reps()];
            long[] javaAllocated = new long[s.reps()];
            // Warm up for the given repetitions and at least MIN_WARMUP_NANOS: C2 compiles the big vector
            // kernels late, and timing them half-compiled measured the JIT, not the kernel (3x at Q4_K M=1).
            long warmUntil = System.nanoTime() + MIN_WARMUP_NANOS;
            for (int rep = 0; rep < s.warmup() || (System.nanoTime() < warmUntil && rep < MAX_WARMUP_REPS); rep++) {
                for (Runnable side : sides) side.run();
            }
            for (int rep = 0; rep < s.reps(); rep++) {
                // Alternate the sides and rotate who goes first, so neither always follows the other.
                int first = Math.floorMod(rep, sides.size());
                for (int k = 0; k < sides.size(); k++) {
                    int side = (first + k) % sides.size();
                    long allocatedBefore = side == 0 ? allocatedBytes() : -1;
                    long start = System.nanoTime();
                    sides.get(side).run();
                    long elapsed = System.nanoTime() - start;
                    nanos[side][rep] = elapsed;
                    if (side == 0) javaAllocated[rep] = allocatedBefore < 0 ? -1 : allocatedBytes() - allocatedBefore;
                }
            }
            float[] yGgml = new float[m * w.rows()];
            ggml.getOutput(yGgml);
            double maxDiff = 0, maxAbs = 0;
            for (int i = 0; i < yJava.length; i++) {
                maxDiff = Math.max(maxDiff, Math.abs(yJava[i] - yGgml[i]));
                maxAbs = Math.max(maxAbs, Math.abs(yJava[i]));
            }
            return new Case(w.type(), m, w.rows(), w.cols(), w.rows() * w.rowBytes(), Timing.of(nanos[0]),
                    Timing.of(nanos[1]), withLens ? Timing.of(nanos[2]) : null, maxAbs == 0 ? maxDiff : maxDiff / maxAbs,
                    median(javaAllocated));
        }
    }

    /** Heap bytes allocated so far by all the JVM's threads, or -1 where the JVM does not count them. */
    private static long allocatedBytes() {
        if (!(ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean threads)
                || !threads.isThreadAllocatedMemorySupported() || !threads.isThreadAllocatedMemoryEnabled()) {
            return -1;
        }
        return threads.getTotalThreadAllocatedBytes();
    }

    private static long median(long[] values) {
        long[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted.length == 0 || sorted[0] < 0 ? -1 : sorted[sorted.length / 2];
    }

    private static final long MIN_WARMUP_NANOS = 3_000_000_000L;
    private static final int MAX_WARMUP_REPS = 200;

    /** M layers of residual states at one position; the lens sees them as layers 0..M-1 of the last position. */
    private static LayerStates randomStates(int layers, int width, Random random) {
        float[][][] states = new float[layers][1][width];
        for (float[][] layer : states) {
            for (int i = 0; i < width; i++) layer[0][i] = (float) (random.nextGaussian() * 4);
        }
        return LayerStates.of(states);
    }
}
