package dev.gguflens.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gguflens.gguf.GgmlType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The m = 1 row kernels at a real row length (4096 = 16 super-blocks, so the per-block offsets, the
 * permuted x of Q6_K and the scale unpacking of every sub-block position are all exercised), against
 * dequantise-then-dot in double, and cold (first call) against warm (after C2 compiled them) bit for bit.
 */
class RowKernelsTest {
    private static final int ROWS = 24, COLS = 4096;

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q8_0", "Q4_K", "Q6_K"})
    void longRowsMatchDoubleReferenceAndDoNotDependOnJitState(GgmlType type) {
        Random rnd = new Random(11 + type.ordinal());
        byte[] raw = QuantTestData.randomBlocks(type, ROWS * COLS / type.blockSize, rnd);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment data = arena.allocate(raw.length);  // off-heap, as the model's mapped tensors are
            MemorySegment.copy(raw, 0, data, ValueLayout.JAVA_BYTE, 0, raw.length);
            WeightMatrix w = new WeightMatrix(type, data, ROWS, COLS);
            float[] dense = Kernels.dequantizeRows(w, 0, ROWS);
            float[] x = QuantTestData.gaussian(COLS, rnd);
            float[] cold = new float[ROWS];
            FusedMatmul.multiply(w, x, 1, cold, 1);
            for (int r = 0; r < ROWS; r++) {
                double exact = 0, magnitude = 0;
                for (int k = 0; k < COLS; k++) {
                    double term = (double) x[k] * dense[r * COLS + k];
                    exact += term;
                    magnitude += Math.abs(term);
                }
                double err = Math.abs(cold[r] - exact) / magnitude;
                assertTrue(err <= 1e-5, type + " row " + r + ": got " + cold[r] + ", exact " + exact + ", relative error " + err);
            }
            float[] warm = new float[ROWS];
            for (int rep = 0; rep < 4000; rep++) FusedMatmul.multiply(w, x, 1, warm, rep % 2 + 1);
            assertArrayEquals(cold, warm, type + ": first call and after warm-up differ");
        }
    }

    /**
     * Weights on the heap take another route (copied a few rows at a time into native scratch); every row,
     * including those of a partial last chunk and of each thread's range, must come out bit for bit as from
     * native memory, with a row range that starts mid-matrix.
     */
    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q8_0", "Q4_K", "Q6_K"})
    void heapWeightsGiveTheSameBitsAsNativeWeights(GgmlType type) {
        int rows = 3 * (int) (FusedMatmul.ROW_CHUNK_BYTES / (COLS / type.blockSize * type.typeSize)) + 5;
        Random rnd = new Random(23 + type.ordinal());
        byte[] raw = QuantTestData.randomBlocks(type, rows * COLS / type.blockSize, rnd);
        float[] x = QuantTestData.gaussian(COLS, rnd);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment data = arena.allocate(raw.length);
            MemorySegment.copy(raw, 0, data, ValueLayout.JAVA_BYTE, 0, raw.length);
            WeightMatrix nativeW = new WeightMatrix(type, data, rows, COLS);
            WeightMatrix heapW = new WeightMatrix(type, MemorySegment.ofArray(raw), rows, COLS);
            for (int threads = 1; threads <= 3; threads++) {
                float[] fromNative = new float[rows - 3], fromHeap = new float[rows - 3];
                FusedMatmul.multiply(nativeW, x, 1, 3, rows, fromNative, threads);
                FusedMatmul.multiply(heapW, x, 1, 3, rows, fromHeap, threads);
                assertArrayEquals(fromNative, fromHeap, type + " with " + threads + " threads");
            }
        }
    }
}
