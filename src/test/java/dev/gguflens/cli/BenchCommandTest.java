package dev.gguflens.cli;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.gguflens.experiment.MatmulBench;
import dev.gguflens.gguf.GgmlType;
import dev.gguflens.testmodels.Fixtures;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code gguf-lens bench} end to end on small shapes: JSON that parses back whole and agrees with itself, the table, bad usage. */
class BenchCommandTest {
    private static final Set<String> CASE_FIELDS = Set.of("type", "m", "rows", "cols", "weight_bytes", "flops", "java", "ggml",
            "lens", "java_over_ggml", "java_gflops", "ggml_gflops", "java_weight_gbps", "ggml_weight_gbps", "lens_over_product",
            "max_relative_difference", "java_allocated_bytes", "java_boxed");
    private static final Set<String> TOP_FIELDS = Set.of("weights", "vectors", "threads", "reps", "warmup", "peak_rss_bytes",
            "read_bandwidth_gbps", "peak_fma_gflops", "cases");

    @BeforeAll
    static void nativeLibrary() {
        Fixtures.requireNative();
    }

    private record Run(int exit, String out, String err) {}

    private static Run bench(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        CommandLine cli = Main.newCommandLine();
        cli.setOut(new PrintWriter(out));
        cli.setErr(new PrintWriter(err));
        List<String> all = new ArrayList<>(List.of("bench"));
        all.addAll(Arrays.asList(args));
        int exit = cli.execute(all.toArray(String[]::new));
        return new Run(exit, out.toString(), err.toString());
    }

    @Test
    void jsonParsesBackWithEveryFieldAndConsistentNumbers() {
        Run run = bench("--types", "Q8_0,F16", "--m", "1,3", "--rows", "4096", "--cols", "256", "--reps", "2", "--warmup", "1",
                "--lens-m", "3", "-t", "2", "--no-machine", "--json");
        assertEquals(0, run.exit(), run.err());
        JsonObject root = JsonParser.parseString(run.out()).getAsJsonObject();
        assertEquals(TOP_FIELDS, root.keySet());
        assertEquals(2, root.get("threads").getAsInt());
        assertEquals(2, root.get("reps").getAsInt());
        assertEquals(1, root.get("warmup").getAsInt());
        assertTrue(root.get("peak_rss_bytes").getAsLong() > 0, "peak RSS " + root.get("peak_rss_bytes"));
        assertTrue(root.get("read_bandwidth_gbps").isJsonNull(), "--no-machine measures no bandwidth");
        assertTrue(root.get("weights").getAsString().contains("4096 x 256"), root.get("weights").getAsString());

        JsonArray cases = root.getAsJsonArray("cases");
        String[] expected = {"Q8_0/1", "Q8_0/3", "F16/1", "F16/3"};
        assertEquals(expected.length, cases.size());
        for (int i = 0; i < expected.length; i++) {
            JsonObject c = cases.get(i).getAsJsonObject();
            assertEquals(CASE_FIELDS, c.keySet());
            GgmlType type = GgmlType.valueOf(c.get("type").getAsString());
            int m = c.get("m").getAsInt();
            assertEquals(expected[i], type + "/" + m);
            assertEquals(4096, c.get("rows").getAsInt());
            assertEquals(256, c.get("cols").getAsInt());
            assertEquals(4096 * type.rowBytes(256), c.get("weight_bytes").getAsLong());
            assertEquals(2.0 * m * 4096 * 256, c.get("flops").getAsDouble());

            double java = checkedMedian(c.getAsJsonObject("java"), 2);
            double ggml = checkedMedian(c.getAsJsonObject("ggml"), 2);
            assertEquals(java / ggml, c.get("java_over_ggml").getAsDouble(), 1e-9 * java / ggml);
            assertEquals(2.0 * m * 4096 * 256 / (java * 1e6), c.get("java_gflops").getAsDouble(), 1e-6);
            assertEquals(2.0 * m * 4096 * 256 / (ggml * 1e6), c.get("ggml_gflops").getAsDouble(), 1e-6);
            assertEquals(4096 * type.rowBytes(256) / (ggml * 1e6), c.get("ggml_weight_gbps").getAsDouble(), 1e-6);
            assertEquals(4096 * type.rowBytes(256) / (java * 1e6), c.get("java_weight_gbps").getAsDouble(), 1e-6);
            if (m == 3) {
                double lens = checkedMedian(c.getAsJsonObject("lens"), 2);
                assertEquals(lens / java - 1, c.get("lens_over_product").getAsDouble(), 1e-9);
            } else {
                assertTrue(c.get("lens").isJsonNull() && c.get("lens_over_product").isJsonNull(), "lens only at --lens-m 3");
            }
            // The two products agree: Q8_0 within ggml's Q8_0 activation rounding, F16 within its F16 rounding.
            double diff = c.get("max_relative_difference").getAsDouble();
            double limit = type == GgmlType.Q8_0 ? 0.03 : 2e-3;
            assertTrue(diff > 0 && diff < limit, type + " max relative difference " + diff);
            // HotSpot counts every thread's allocation; a product allocates only its small per-call scratch.
            long allocated = c.get("java_allocated_bytes").getAsLong();
            assertTrue(allocated >= 0 && allocated < MatmulBench.Case.BOXED_VECTORS_BYTES, type + "/" + m + " allocated " + allocated);
            assertFalse(c.get("java_boxed").getAsBoolean());
        }
    }

    /** A case whose Java product allocated like boxed vectors gets a line of its own under the table; others none. */
    @Test
    void tableFlagsACaseWhoseProductAllocatedLikeBoxedVectors() {
        MatmulBench.Timing t = new MatmulBench.Timing(2, 1, 3, List.of(1.0, 2.0, 3.0));
        MatmulBench.Case boxed = new MatmulBench.Case(GgmlType.Q4_K, 1, 4096, 256, 4096 * GgmlType.Q4_K.rowBytes(256), t, t, null,
                1e-3, MatmulBench.Case.BOXED_VECTORS_BYTES + 1);
        MatmulBench.Case healthy = new MatmulBench.Case(GgmlType.Q8_0, 37, 4096, 256, 4096 * GgmlType.Q8_0.rowBytes(256), t, t,
                null, 1e-3, 4096);
        String table = BenchCommand.table(new MatmulBench.Result("synthetic", "256-bit", 2, 3, 1, List.of(boxed, healthy), -1,
                Double.NaN, Double.NaN));
        assertTrue(table.contains("JIT failure: Q4_K M=1: the Java product allocated 64 MiB per run"), table);
        assertFalse(table.contains("Q8_0 M=37: the Java product"), table);
        assertEquals(1, table.lines().filter(l -> l.startsWith("JIT failure")).count(), table);
    }

    /** Samples are positive, min/max/median are those of the samples; returns the median. */
    private static double checkedMedian(JsonObject timing, int reps) {
        JsonArray samples = timing.getAsJsonArray("samples_ms");
        assertEquals(reps, samples.size());
        double[] v = new double[reps];
        for (int i = 0; i < reps; i++) v[i] = samples.get(i).getAsDouble();
        for (double s : v) assertTrue(s > 0, "sample " + s);
        Arrays.sort(v);
        double median = reps % 2 == 1 ? v[reps / 2] : (v[reps / 2 - 1] + v[reps / 2]) / 2;
        assertEquals(median, timing.get("median_ms").getAsDouble(), 1e-12);
        assertEquals(v[0], timing.get("min_ms").getAsDouble(), 1e-12);
        assertEquals(v[reps - 1], timing.get("max_ms").getAsDouble(), 1e-12);
        return median;
    }

    @Test
    void tableHasEveryCaseAndPeakRss() {
        Run run = bench("--types", "Q4_K", "--m", "2", "--rows", "512", "--cols", "256", "--reps", "1", "--warmup", "0",
                "--lens-m", "0", "-t", "1", "--no-machine");
        assertEquals(0, run.exit(), run.err());
        String[] lines = run.out().split("\n");
        assertTrue(lines[0].startsWith("Java fused lens product vs ggml CPU mul_mat, 1 threads, median of 1 reps"), lines[0]);
        // The width the kernels ran at, as the JVM was started (the surefire executions narrow it).
        int bits = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.vectorBitSize();
        assertTrue(lines[2].startsWith("vectors: " + bits + "-bit vectors (" + bits / 32 + " float lanes), "), lines[2]);
        assertTrue(lines[3].startsWith("type     M weightMiB   java ms   ggml ms java/ggml"), lines[3]);
        assertTrue(lines[4].matches("Q4_K\\s+2\\s+0\\.1\\s.*"), lines[4]);
        assertTrue(run.out().contains("peak RSS: "), run.out());
        assertTrue(run.err().contains("bench: timing Q4_K M=2"), run.err());
    }

    @Test
    void modelOutputWeightOfStories260K() {
        String model = Fixtures.stories260K().toString();
        Run run = bench("--model", model, "--m", "2", "--reps", "1", "--warmup", "0", "--lens-m", "2", "-t", "2",
                "--no-machine", "--json");
        assertEquals(0, run.exit(), run.err());
        JsonObject root = JsonParser.parseString(run.out()).getAsJsonObject();
        assertTrue(root.get("weights").getAsString().contains("(F32 512 x 64)"), root.get("weights").getAsString());
        JsonArray cases = root.getAsJsonArray("cases");
        assertEquals(1, cases.size());
        JsonObject c = cases.get(0).getAsJsonObject();
        assertEquals("F32", c.get("type").getAsString());
        assertEquals(512 * 64 * 4, c.get("weight_bytes").getAsLong());
        JsonElement lens = c.get("lens");
        assertFalse(lens.isJsonNull(), "the lens reduction runs on the model's own head");
        assertTrue(c.get("max_relative_difference").getAsDouble() < 1e-5, c.toString());
    }

    @Test
    void badUsageIsOneLineExitTwo() {
        String[][] cases = {
            {"--types", "Q9_9", "--no-machine"}, "unknown ggml type 'Q9_9'".split("\0"),
            {"--m", "0", "--no-machine"}, "--m 0 must be >= 1".split("\0"),
            {"--types", "Q4_K", "--cols", "100", "--no-machine"}, "--cols 100 is not a multiple of the Q4_K block size 256".split("\0"),
            {"--model", "/no/such.gguf", "--rows", "8"}, "--rows/--cols shape synthetic weights".split("\0"),
            {"--model", "/no/such.gguf", "--no-machine"}, "/no/such.gguf: no such file".split("\0"),
            // x and the two outputs would need 4 x (100000 x 256 + 2 x 100000 x 8192) B = 6.2 GiB of heap
            {"--types", "Q8_0", "--rows", "8192", "--cols", "256", "--m", "100000", "--no-machine"},
                    "--m 100000 needs about 6347 MiB of Java heap".split("\0"),
        };
        for (int i = 0; i < cases.length; i += 2) {
            Run run = bench(cases[i]);
            assertEquals(Main.EXIT_USAGE, run.exit(), String.join(" ", cases[i]) + ": " + run.err());
            assertTrue(run.err().startsWith("gguf-lens: ") && run.err().contains(cases[i + 1][0]), run.err());
            assertEquals(1, run.err().strip().split("\n").length, run.err());
        }
    }
}
