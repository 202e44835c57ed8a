package dev.gguflens.lens;

import dev.gguflens.gguf.GgmlType;
import dev.gguflens.quant.FusedMatmul;
import dev.gguflens.quant.Quantizer;
import dev.gguflens.quant.WeightMatrix;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalDouble;
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
 * The streaming lens reduction against the bare product it is built on, same weight, same M, same threads:
 * {@code lensReduction} is LogitLens.run with the NORM lens over M layer states at one position (norm, the
 * blocked product, softmax statistics, top-10, entropy, the tracked token's rank, KL to the final layer);
 * {@code bareProduct} is FusedMatmul.multiply over all rows for the same M already-normed vectors. Their ratio is
 * the reduction's overhead (goal: at most 1.15). Run with
 * {@code scripts/jmh.sh LensReductionBenchmark -p type=Q8_0}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx2g"})
@Warmup(iterations = 2)
@Measurement(iterations = 5)
public class LensReductionBenchmark {
    @Param({"Q8_0", "F16"})
    public String type;
    @Param({"37"})
    public int m;
    @Param({"32000"})
    public int rows;
    @Param({"4096"})
    public int cols;
    @Param({"2"})
    public int threads;

    private Arena arena;
    private WeightMatrix weights;
    private LensHead head;
    private LayerStates states;
    private LensRequest request;
    private float[] normed;
    private float[] y;

    @Setup
    public void setup() {
        GgmlType t = GgmlType.valueOf(type);
        Random random = new Random(1);
        // 256 quantised rows from the Java quantiser, tiled over the matrix: values do not change the timing.
        int patternRows = 256;
        float[] pattern = new float[patternRows * cols];
        for (int i = 0; i < pattern.length; i++) pattern[i] = (float) (random.nextGaussian() * 0.02);
        byte[] patternBytes = Quantizer.quantize(t, pattern, cols);
        arena = Arena.ofShared();
        long bytes = rows * t.rowBytes(cols);
        MemorySegment data = arena.allocate(bytes, 64);
        for (long off = 0; off < bytes; off += patternBytes.length) {
            MemorySegment.copy(patternBytes, 0, data, ValueLayout.JAVA_BYTE, off, (int) Math.min(patternBytes.length, bytes - off));
        }
        weights = new WeightMatrix(t, data, rows, cols);
        float[] gamma = new float[cols];
        Arrays.fill(gamma, 1f);
        head = new LensHead("qwen3", NormKind.RMS_NORM, gamma, null, 1e-6f, LogitProjection.of(weights), null,
                OptionalDouble.empty(), OptionalDouble.empty());
        float[][][] residuals = new float[m][1][cols];
        for (float[][] layer : residuals) for (int i = 0; i < cols; i++) layer[0][i] = (float) (random.nextGaussian() * 4);
        states = LayerStates.of(residuals);
        request = new LensRequest(LensKind.NORM, 10, new int[] {0}, List.of(new TrackedToken("probe", 0)));
        normed = new float[m * cols];
        for (int layer = 0; layer < m; layer++) head.prepare(LensKind.NORM, residuals[layer][0], 0, normed, layer * cols);
        y = new float[m * rows];
    }

    @TearDown
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public LensResult lensReduction() {
        return LogitLens.run(head, states, request, threads);
    }

    @Benchmark
    public float[] bareProduct() {
        FusedMatmul.multiply(weights, normed, m, y, threads);
        return y;
    }
}
