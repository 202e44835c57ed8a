package dev.gguflens.quant;

import dev.gguflens.gguf.GgmlType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The fused product at Qwen3-8B's output-projection shape (151936 x 4096), 2 threads, for the types and
 * batch sizes the later performance issue compares against ggml. Run with scripts/jmh.sh.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx2g"})
@Warmup(iterations = 2)
@Measurement(iterations = 3)
public class FusedMatmulBenchmark {
    @Param({"Q6_K", "Q8_0", "Q4_K", "F16"})
    public String type;
    @Param({"1", "37"})
    public int m;
    @Param({"151936"})
    public int rows;
    @Param({"4096"})
    public int cols;
    @Param({"2"})
    public int threads;

    private Arena arena;
    private WeightMatrix weights;
    private float[] x;
    private float[] y;

    @Setup
    public void setup() {
        GgmlType t = GgmlType.valueOf(type);
        arena = Arena.ofShared();
        long bytes = rows * t.rowBytes(cols);
        MemorySegment data = arena.allocate(bytes, 64);
        // Random blocks with sane scales, 4 MiB of them tiled over the whole matrix (setup stays fast).
        byte[] pattern = QuantTestData.randomBlocks(t, (int) ((4 << 20) / t.typeSize), new Random(1));
        for (long off = 0; off < bytes; off += pattern.length) {
            MemorySegment.copy(pattern, 0, data, ValueLayout.JAVA_BYTE, off, (int) Math.min(pattern.length, bytes - off));
        }
        weights = new WeightMatrix(t, data, rows, cols);
        x = QuantTestData.gaussian(m * cols, new Random(2));
        y = new float[m * rows];
    }

    @TearDown
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public float[] multiply() {
        FusedMatmul.multiply(weights, x, m, y, threads);
        return y;
    }
}
