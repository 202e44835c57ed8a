package dev.gguflens.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gguflens.gguf.GgmlType;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The fused product against dequantise-then-dot in double precision. Error measure, per output:
 * |y - ref| / sum_k |x_k * w_k| <= 1e-5, i.e. relative to the sum of absolute terms (the honest
 * denominator: float accumulation error scales with it, while |ref| itself can cancel to ~0).
 * The dequantisation it relies on is checked bit-exact against gguf-py in DequantizeReferenceTest.
 */
class FusedMatmulTest {
    private static final double TOLERANCE = 1e-5;
    private static final int ROWS = 23;        // not a multiple of the 4-row tile
    private static final int ROW_START = 5;     // ranges that do not start at 0 (or on a tile boundary)
    private static final int ROW_END = 22;

    static Stream<GgmlType> requiredTypes() {
        return QuantTestData.REQUIRED.stream();
    }

    /** K: 67 for scalar types (not a multiple of any SIMD width), three blocks otherwise. */
    private static int cols(GgmlType type) {
        return type.blockSize == 1 ? 67 : 3 * type.blockSize;
    }

    @ParameterizedTest
    @MethodSource("requiredTypes")
    void matchesDequantizeThenDotInDouble(GgmlType type) {
        int cols = cols(type);
        Random rnd = new Random(type.ordinal() * 31L + 1);
        WeightMatrix w = QuantTestData.randomMatrix(type, ROWS, cols, rnd);
        float[] dense = Kernels.dequantizeRows(w, 0, ROWS);
        for (int m : new int[] {1, 3, 37}) {
            float[] x = QuantTestData.gaussian(m * cols, rnd);
            float[] reference = null;
            for (int threads : new int[] {1, 2}) {
                int outRows = ROW_END - ROW_START;
                float[] y = new float[m * outRows];
                FusedMatmul.multiply(w, x, m, ROW_START, ROW_END, y, threads);
                for (int i = 0; i < m; i++) {
                    for (int r = ROW_START; r < ROW_END; r++) {
                        double exact = 0, magnitude = 0;
                        for (int k = 0; k < cols; k++) {
                            double term = (double) x[i * cols + k] * dense[r * cols + k];
                            exact += term;
                            magnitude += Math.abs(term);
                        }
                        double got = y[i * outRows + (r - ROW_START)];
                        double err = magnitude == 0 ? Math.abs(got) : Math.abs(got - exact) / magnitude;
                        assertTrue(err <= TOLERANCE, type + " m=" + m + " threads=" + threads + " vector " + i
                                + " row " + r + ": got " + got + ", exact " + exact + ", relative error " + err);
                    }
                }
                // Each output depends only on its row and vector, so the thread split must not change a bit.
                if (reference == null) reference = y;
                else assertArrayEquals(reference, y, type + " m=" + m + ": threads=2 differs from threads=1");
            }
        }
    }

    /**
     * K longer than one K block and not a multiple of it, so the lane-wise partial sums cross block boundaries
     * (the other tests' K fits in one block); rows and m leave remainders of both register-tile dimensions.
     */
    @ParameterizedTest
    @MethodSource("requiredTypes")
    void crossesKBlocks(GgmlType type) {
        int cols = FusedMatmul.K_CHUNK + 256, rows = FusedMatmul.BLOCKED_TILE + 3, m = 7;
        Random rnd = new Random(type.ordinal() * 17L + 5);
        WeightMatrix w = QuantTestData.randomMatrix(type, rows, cols, rnd);
        float[] dense = Kernels.dequantizeRows(w, 0, rows);
        float[] x = QuantTestData.gaussian(m * cols, rnd);
        float[] y = new float[m * rows];
        FusedMatmul.multiply(w, x, m, y, 1);
        for (int i = 0; i < m; i++) {
            for (int r = 0; r < rows; r++) {
                double exact = 0, magnitude = 0;
                for (int k = 0; k < cols; k++) {
                    double term = (double) x[i * cols + k] * dense[r * cols + k];
                    exact += term;
                    magnitude += Math.abs(term);
                }
                double err = Math.abs(y[i * rows + r] - exact) / magnitude;
                assertTrue(err <= TOLERANCE, type + " vector " + i + " row " + r + ": got " + y[i * rows + r]
                        + ", exact " + exact + ", relative error " + err);
            }
        }
        float[] split = new float[m * rows];
        FusedMatmul.multiply(w, x, m, split, 3);
        assertArrayEquals(y, split, type + ": threads=3 differs from threads=1");
    }

    /**
     * The blocked tile path gives exactly the bits of a lane-wise scalar recomputation: lane j of each output's
     * partial sums is fma(w_k, x_k, .) over k = j, j + L, ... in ascending order, folded halves onto halves as
     * FloatLanes does. So neither the K blocks, nor the M blocks (m spans two, with remainders for every register
     * block), nor the tile height, nor the register block (2, 3 or 6 vectors) nor the thread split can change a bit.
     */
    @ParameterizedTest
    @MethodSource("requiredTypes")
    void tilePathEqualsLaneWiseRecomputationBitForBit(GgmlType type) {
        int lanes = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.length();
        // m over one M block takes the tall tile: one whole tile and a remainder of rows
        int cols = FusedMatmul.K_CHUNK + 256, rows = FusedMatmul.TALL_TILE + 5, m = FusedMatmul.M_BLOCK + 5;
        Random rnd = new Random(type.ordinal() * 13L + 7);
        WeightMatrix w = QuantTestData.randomMatrix(type, rows, cols, rnd);
        float[] dense = Kernels.dequantizeRows(w, 0, rows);
        float[] x = QuantTestData.gaussian(m * cols, rnd);
        float[] expected = new float[m * rows];
        float[] acc = new float[lanes];
        for (int i = 0; i < m; i++) {
            for (int r = 0; r < rows; r++) {
                Arrays.fill(acc, 0f);
                for (int k = 0; k < cols; k++) acc[k % lanes] = Math.fma(dense[r * cols + k], x[i * cols + k], acc[k % lanes]);
                for (int half = lanes / 2; half >= 1; half /= 2) {
                    for (int j = 0; j < half; j++) acc[j] = acc[j] + acc[j + half];
                }
                expected[i * rows + r] = acc[0];
            }
        }
        for (int registerVectors : new int[] {2, 3, 6}) {
            for (int threads : new int[] {1, 2}) {
                float[] y = new float[m * rows];
                FusedMatmul.multiply(w, x, m, 0, rows, y, threads, registerVectors);
                assertArrayEquals(expected, y, type + " at " + lanes + " lanes, register block of " + registerVectors
                        + " vectors, " + threads + " threads");
            }
            // other tile heights, K blocks (one not dividing cols), M blocks and the other loop order
            for (FusedMatmul.Blocking b : List.of(new FusedMatmul.Blocking(8, 256, 7, true, registerVectors),
                    new FusedMatmul.Blocking(32, 512, 48, true, registerVectors),
                    new FusedMatmul.Blocking(4, 1024, 100, false, registerVectors))) {
                float[] y = new float[m * rows];
                FusedMatmul.multiply(w, x, m, 0, rows, y, 2, b);
                assertArrayEquals(expected, y, type + " at " + lanes + " lanes, " + b);
            }
        }
    }

    /**
     * The column-lane path (vectors across the lanes, ColumnLaneTiles) gives exactly the bits of a scalar
     * recomputation: per K block of 256 columns an FMA chain from zero in ascending k, the blocks' sums added in
     * order. Its kernels run here at every width, whether or not this width takes the path by default, so passing
     * at 128, 256 and 512 bits means the same bits at all of them. m = 12 (one panel), 37 (two panels and a
     * one-vector panel, Qwen3-8B's last-position lens), 53; rows past the last 6-row register block; more than one
     * tile; a row range not starting at 0; 1 and 3 threads. Also within the 1e-5 bound of the double product.
     */
    @ParameterizedTest
    @MethodSource("requiredTypes")
    void columnLanePathEqualsBlockwiseSequentialRecomputationBitForBit(GgmlType type) {
        int block = ColumnLaneTiles.K_BLOCK;
        int cols = 5 * block, rows = 2 * ColumnLaneTiles.TILE_ROWS + 11, rowStart = 7;
        Random rnd = new Random(type.ordinal() * 17L + 5);
        WeightMatrix w = QuantTestData.randomMatrix(type, rows, cols, rnd);
        float[] dense = Kernels.dequantizeRows(w, 0, rows);
        for (int m : new int[] {12, 37, 53}) {
            float[] x = QuantTestData.gaussian(m * cols, rnd);
            int outRows = rows - rowStart;
            float[] expected = new float[m * outRows];
            for (int i = 0; i < m; i++) {
                for (int r = rowStart; r < rows; r++) {
                    float total = 0;
                    double exact = 0, magnitude = 0;
                    for (int k0 = 0; k0 < cols; k0 += block) {
                        float s = 0;
                        for (int k = k0; k < k0 + block; k++) {
                            s = Math.fma(dense[r * cols + k], x[i * cols + k], s);
                            double term = (double) dense[r * cols + k] * x[i * cols + k];
                            exact += term;
                            magnitude += Math.abs(term);
                        }
                        total += s;
                    }
                    expected[i * outRows + r - rowStart] = total;
                    double err = Math.abs(total - exact) / magnitude;
                    assertTrue(err <= TOLERANCE, type + " m=" + m + " vector " + i + " row " + r + ": relative error " + err);
                }
            }
            for (int threads : new int[] {1, 3}) {
                float[] y = new float[m * outRows];
                ColumnLaneTiles.multiply(w, x, m, rowStart, rows, y, threads);
                assertArrayEquals(expected, y, type + " m=" + m + ", " + threads + " threads");
            }
            if (ColumnLaneTiles.serves(m, cols)) {
                float[] y = new float[m * outRows];
                FusedMatmul.multiply(w, x, m, rowStart, rows, y, 2);
                assertArrayEquals(expected, y, type + " m=" + m + " through FusedMatmul.multiply");
            }
        }
    }

    @Test
    void allRowsOverloadAndManyThreads() {
        GgmlType type = GgmlType.Q4_K;
        int rows = 41, cols = 512, m = 5;
        Random rnd = new Random(3);
        WeightMatrix w = QuantTestData.randomMatrix(type, rows, cols, rnd);
        float[] x = QuantTestData.gaussian(m * cols, rnd);
        float[] all = new float[m * rows];
        FusedMatmul.multiply(w, x, m, all, 1);
        float[] many = new float[m * rows];
        FusedMatmul.multiply(w, x, m, many, 7);  // more threads than cores, uneven split
        assertArrayEquals(all, many);
        float[] part = new float[m * 10];
        FusedMatmul.multiply(w, x, m, 30, 40, part, 2);
        for (int i = 0; i < m; i++) {
            assertArrayEquals(Arrays.copyOfRange(all, i * rows + 30, i * rows + 40), Arrays.copyOfRange(part, i * 10, i * 10 + 10));
        }
    }

    @Test
    void rejectsInconsistentShapes() {
        WeightMatrix w = new WeightMatrix(GgmlType.F32, MemorySegment.ofArray(new byte[4 * 8 * 3]), 3, 8);
        var e = assertThrows(IllegalArgumentException.class, () -> FusedMatmul.multiply(w, new float[8], 2, new float[6], 1));
        assertEquals("multiply: x holds 8 floats, need m*cols = 16", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> FusedMatmul.multiply(w, new float[8], 1, 2, 4, new float[6], 1));
        assertEquals("multiply: row range [2, 4) is not within the 3 rows of the matrix", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> FusedMatmul.multiply(w, new float[8], 1, new float[2], 1));
        assertEquals("multiply: y holds 2 floats, need m*rows = 3", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> FusedMatmul.multiply(w, new float[8], 1, new float[3], 0));
    }
}
