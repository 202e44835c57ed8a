package dev.gguflens.llama;

import dev.gguflens.gguf.GgmlType;
import dev.gguflens.gguf.GgufFile;
import dev.gguflens.gguf.GgufTensor;
import dev.gguflens.quant.FusedMatmul;
import dev.gguflens.quant.Kernels;
import dev.gguflens.quant.WeightMatrix;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * ggml's CPU mul_mat through the shim against an independent float64 product of the weight as the Java
 * decoders dequantise it, and against the Java fused product. ggml quantises X first (Q8_K for k-quants, Q8_0 for
 * Q8_0, F16/BF16 for those weights), so its error is bounded per element by |W_rk| times the activation rounding
 * error; the Java product keeps X in float and must be within float rounding of the reference.
 */
class GgmlMatmulTest {
    private static final int THREADS = 2;

    @BeforeAll
    static void nativeLibrary() {
        dev.gguflens.testmodels.Fixtures.requireNative();
    }

    @ParameterizedTest(name = "{0} {1}x{2}, m={3}")
    @CsvSource({
        "Q8_0, 300, 512, 1", "Q8_0, 300, 512, 5",
        "Q6_K, 300, 512, 1", "Q6_K, 300, 512, 5",
        "Q4_K, 300, 512, 1", "Q4_K, 300, 512, 5",
        "F16, 300, 512, 5", "BF16, 300, 512, 5", "F32, 300, 512, 5", "Q5_K, 131, 256, 3"})
    void ggmlMatchesReferenceWithinActivationQuantisationAndJavaWithinFloat(GgmlType type, int rows, int cols, int m) {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment bytes = RandomWeights.allocate(arena, type, rows, cols, 42 + type.id);
            float[] x = gaussian(m * cols, new Random(7 + m));
            WeightMatrix w = new WeightMatrix(type, bytes, rows, cols);
            float[] dense = Kernels.dequantizeRows(w, 0, rows);

            float[] ggml;
            try (GgmlMatmul matmul = new GgmlMatmul(type, bytes, rows, cols, m, THREADS)) {
                ggml = matmul.multiply(x);
            }
            float[] java = new float[m * rows];
            FusedMatmul.multiply(w, x, m, java, THREADS);

            double worstGgmlError = 0, worstJavaError = 0;
            for (int i = 0; i < m; i++) {
                double[] activationError = activationErrorBound(type, x, i * cols, cols);
                for (int r = 0; r < rows; r++) {
                    double exact = 0, magnitude = 0, quantBound = 0;
                    for (int k = 0; k < cols; k++) {
                        double wk = dense[r * cols + k];
                        exact += wk * x[i * cols + k];
                        magnitude += Math.abs(wk * x[i * cols + k]);
                        quantBound += Math.abs(wk) * activationError[k];
                    }
                    double floatSlack = 3e-4 * magnitude + 1e-6;
                    double g = ggml[i * rows + r], j = java[i * rows + r];
                    String where = type + " vector " + i + " row " + r + ": exact " + exact + ", ggml " + g + ", Java " + j;
                    if (Math.abs(g - exact) > quantBound + floatSlack) fail(where + ": ggml exceeds the activation-quantisation bound " + quantBound);
                    if (Math.abs(j - exact) > floatSlack) fail(where + ": Java exceeds float rounding " + floatSlack);
                    if (Math.abs(g - j) > quantBound + 2 * floatSlack) fail(where + ": ggml and Java differ beyond the bound");
                    worstGgmlError = Math.max(worstGgmlError, Math.abs(g - exact));
                    worstJavaError = Math.max(worstJavaError, Math.abs(j - exact));
                }
            }
            if (type.isQuantized()) {
                // ggml really did quantise X (its own Q8 path ran), so its error dwarfs float rounding.
                assertTrue(worstGgmlError > 10 * worstJavaError, "ggml error " + worstGgmlError + " vs Java " + worstJavaError);
            }
        }
    }

    @Test
    void mmappedGgufOutputWeightOfStories260K() {
        try (GgufFile file = GgufFile.open(dev.gguflens.testmodels.Fixtures.stories260K())) {
            GgufTensor t = file.tensor("output.weight").or(() -> file.tensor("token_embd.weight")).orElseThrow();
            int rows = Math.toIntExact(t.rowCount()), cols = Math.toIntExact(t.rowLength());
            int m = 4;
            float[] x = gaussian(m * cols, new Random(3));
            float[] java = new float[m * rows];
            FusedMatmul.multiply(new WeightMatrix(t.type(), t.data(), rows, cols), x, m, java, THREADS);
            try (GgmlMatmul matmul = new GgmlMatmul(t.type(), t.data(), rows, cols, m, THREADS)) {
                float[] ggml = matmul.multiply(x);
                float[] again = new float[m * rows];
                matmul.compute();               // same input, graph reused: identical result
                matmul.getOutput(again);
                for (int i = 0; i < m * rows; i++) {
                    assertEquals(java[i], ggml[i], 1e-4 * (1 + Math.abs(java[i])), "element " + i);
                    assertEquals(ggml[i], again[i], "recompute of element " + i);
                }
            }
        }
    }

    @Test
    void badInputsAreOneLineErrors() {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment q8 = RandomWeights.allocate(arena, GgmlType.Q8_0, 8, 64, 1);
            var small = assertThrows(IllegalArgumentException.class, () -> new GgmlMatmul(GgmlType.Q8_0, q8, 9, 64, 1, 1));
            assertTrue(small.getMessage().contains("needs 612 bytes but the segment holds 544"), small.getMessage());
            var misaligned = assertThrows(IllegalArgumentException.class,
                    () -> new GgmlMatmul(GgmlType.Q8_0, q8.asSlice(2), 7, 64, 1, 1));
            assertTrue(misaligned.getMessage().contains("aligned to 32 bytes"), misaligned.getMessage());
            var type = assertThrows(IllegalArgumentException.class, () -> new GgmlMatmul(GgmlType.Q8_K, q8, 1, 256, 1, 1));
            assertTrue(type.getMessage().contains("Q8_K has no ggml CPU matmul kernel"), type.getMessage());
            var heap = assertThrows(IllegalArgumentException.class,
                    () -> new GgmlMatmul(GgmlType.F32, MemorySegment.ofArray(new float[64]), 1, 64, 1, 1));
            assertTrue(heap.getMessage().contains("native memory"), heap.getMessage());
            var cols = assertThrows(IllegalArgumentException.class, () -> new GgmlMatmul(GgmlType.Q8_0, q8, 8, 48, 1, 1));
            assertTrue(cols.getMessage().contains("cols 48 is not a multiple of the Q8_0 block size 32"), cols.getMessage());

            GgmlMatmul matmul = new GgmlMatmul(GgmlType.Q8_0, q8, 8, 64, 2, 1);
            var shortInput = assertThrows(IllegalArgumentException.class, () -> matmul.setInput(new float[127]));
            assertTrue(shortInput.getMessage().contains("need m*cols = 128"), shortInput.getMessage());
            matmul.close();
            matmul.close();  // idempotent
            assertThrows(IllegalStateException.class, matmul::compute);
        }
    }

    /** Per-element bound on |x_k - dequant(quant(x_k))| for the activation type ggml converts X to. */
    private static double[] activationErrorBound(GgmlType weightType, float[] x, int offset, int n) {
        double[] bound = new double[n];
        switch (weightType) {
            case F32 -> { }
            case F16 -> { for (int k = 0; k < n; k++) bound[k] = Math.abs(x[offset + k]) * 0x1p-11 + 1e-7; }
            case BF16 -> { for (int k = 0; k < n; k++) bound[k] = Math.abs(x[offset + k]) * 0x1p-8 + 1e-7; }
            default -> {
                // Q8_0 (block 32, f16 scale: d/2 + d * 127 * 2^-11 <= 0.57 d) for Q8_0; Q8_K (block 256, f32 scale: d/2) for k-quants.
                int block = weightType == GgmlType.Q8_0 ? 32 : 256;
                double factor = weightType == GgmlType.Q8_0 ? 0.6 : 0.51;
                for (int b = 0; b < n; b += block) {
                    double amax = 0;
                    for (int k = b; k < b + block; k++) amax = Math.max(amax, Math.abs(x[offset + k]));
                    for (int k = b; k < b + block; k++) bound[k] = factor * amax / 127;
                }
            }
        }
        return bound;
    }

    private static float[] gaussian(int n, Random random) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) random.nextGaussian();
        return v;
    }
}
