package dev.gguflens.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gguflens.gguf.GgmlType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;
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
    @EnumSource(value = GgmlType.class, names = {"Q8_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K", "F16", "BF16", "F32"})
    void longRowsMatchDoubleReferenceAndDoNotDependOnJitState(GgmlType type) {
        Random rnd = new Random(11 + type.ordinal());
        byte[] raw = QuantTestData.randomBlocks(type, ROWS * COLS / type.blockSize, rnd);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment data = QuantTestData.offHeap(arena, raw);
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
     * Row lengths that end in a partial chunk and partial vectors: the F16 kernel widens and multiplies 256 halves
     * at a time and leaves the rest to a scalar tail, BF16 and F32 run whole groups of 2 or 4 vectors and then a
     * scalar tail; 300 = 256 + 44 and 37 exercise every one of those paths at 4 and 8 lanes. Against
     * dequantise-then-dot in double, and bit for bit from a fresh call after warm-up.
     */
    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"F16", "BF16", "F32"})
    void rowLengthsWithPartialChunksMatchDoubleReference(GgmlType type) {
        for (int cols : new int[] {37, 300}) {
            int rows = 9;
            Random rnd = new Random(31 + cols + type.ordinal());
            byte[] raw = QuantTestData.randomBlocks(type, rows * cols / type.blockSize, rnd);
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment data = QuantTestData.offHeap(arena, raw);
                WeightMatrix w = new WeightMatrix(type, data, rows, cols);
                float[] dense = Kernels.dequantizeRows(w, 0, rows);
                float[] x = QuantTestData.gaussian(cols, rnd);
                float[] cold = new float[rows];
                FusedMatmul.multiply(w, x, 1, cold, 1);
                for (int r = 0; r < rows; r++) {
                    double exact = 0, magnitude = 0;
                    for (int k = 0; k < cols; k++) {
                        double term = (double) x[k] * dense[r * cols + k];
                        exact += term;
                        magnitude += Math.abs(term);
                    }
                    double err = Math.abs(cold[r] - exact) / magnitude;
                    assertTrue(err <= 1e-5, type + " cols " + cols + " row " + r + ": got " + cold[r] + ", exact " + exact
                            + ", relative error " + err);
                }
                float[] warm = new float[rows];
                for (int rep = 0; rep < 20000; rep++) FusedMatmul.multiply(w, x, 1, warm, 1);
                assertArrayEquals(cold, warm, type + " cols " + cols + ": first call and after warm-up differ");
            }
        }
    }

    /**
     * Weights on the heap take another route (copied a few rows at a time into native scratch); every row,
     * including those of a partial last chunk and of each thread's range, must come out bit for bit as from
     * native memory, with a row range that starts mid-matrix.
     */
    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q8_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K", "F16", "BF16", "F32"})
    void heapWeightsGiveTheSameBitsAsNativeWeights(GgmlType type) {
        int rows = 3 * (int) (FusedMatmul.ROW_CHUNK_BYTES / (COLS / type.blockSize * type.typeSize)) + 5;
        Random rnd = new Random(23 + type.ordinal());
        byte[] raw = QuantTestData.randomBlocks(type, rows * COLS / type.blockSize, rnd);
        float[] x = QuantTestData.gaussian(COLS, rnd);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment data = QuantTestData.offHeap(arena, raw);
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

    /**
     * The F16 row kernel widens halves in registers (256 bits) or in vectorised chunks of 256 with the rest in
     * scalar code (128 bits): every one of the
     * 65536 half patterns (zeros, subnormals, normals, infinities, NaNs), each filling one row of 256 + 32
     * columns, times x = 1 must give 288 * Float.float16ToFloat(pattern) exactly (every partial sum is an integer
     * multiple of the pattern below 2^9, so no sum rounds).
     */
    @org.junit.jupiter.api.Test
    void f16RowKernelWidensEveryHalfPatternExactly() {
        int rows = 65536, cols = 288;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment data = arena.allocate(2L * rows * cols);
            for (int p = 0; p < rows; p++) {
                for (int k = 0; k < cols; k++) data.set(ValueLayout.JAVA_SHORT_UNALIGNED, 2L * (p * cols + k), (short) p);
            }
            float[] x = new float[cols];
            java.util.Arrays.fill(x, 1f);
            float[] y = new float[rows];
            FusedMatmul.multiply(new WeightMatrix(GgmlType.F16, data, rows, cols), x, 1, y, 2);
            for (int p = 0; p < rows; p++) {
                float expected = (float) (cols * (double) Float.float16ToFloat((short) p)) + 0f;  // + 0f: the sum of -0s starts at +0
                if (Float.isNaN(expected)) {
                    assertTrue(Float.isNaN(y[p]), "pattern 0x" + Integer.toHexString(p) + " gave " + y[p]);
                } else {
                    org.junit.jupiter.api.Assertions.assertEquals(expected, y[p], "pattern 0x" + Integer.toHexString(p));
                }
            }
        }
    }

    /**
     * The F16 row kernel reads halves as floats 2^112 too small and leaves infinities and NaNs, which that reading
     * cannot represent, to an exact loop. One infinity or NaN per row, at a column in the two-vector loop, in the
     * one-vector remainder and in the scalar tail (4120 = 128 passes of 32 + 16 + 8 at 8 lanes; 18 passes of 16 + 8
     * + 4 at 4), must give the infinity of x's sign at that column, or NaN; an x holding an infinity must give what a
     * column-order float loop gives; and rows of finite halves (negative ones in the tail too) must not be taken for
     * rows with specials.
     */
    @org.junit.jupiter.api.Test
    void f16RowsWithInfinitiesAndNaNsAndNonFiniteXAreExact() {
        for (int cols : new int[] {4120, 300}) {
            Random rnd = new Random(41 + cols);
            int[] columns = {0, 5, 31, cols / 2, cols - 20, cols - 9, cols - 1};
            short[] specials = {Float.floatToFloat16(Float.POSITIVE_INFINITY), Float.floatToFloat16(Float.NEGATIVE_INFINITY),
                    (short) 0x7E00, (short) 0xFE01};
            int rows = columns.length * specials.length + 1;
            float[] x = QuantTestData.gaussian(cols, rnd);
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment data = arena.allocate(2L * rows * cols);
                for (int r = 0; r < rows; r++) {
                    for (int k = 0; k < cols; k++) {
                        data.set(ValueLayout.JAVA_SHORT_UNALIGNED, 2L * (r * cols + k), Float.floatToFloat16((float) rnd.nextGaussian()));
                    }
                }
                for (int c = 0; c < columns.length; c++) {
                    for (int s = 0; s < specials.length; s++) {
                        int r = c * specials.length + s;
                        data.set(ValueLayout.JAVA_SHORT_UNALIGNED, 2L * (r * cols + columns[c]), specials[s]);
                    }
                }
                WeightMatrix w = new WeightMatrix(GgmlType.F16, data, rows, cols);
                float[] y = new float[rows];
                FusedMatmul.multiply(w, x, 1, y, 2);
                for (int c = 0; c < columns.length; c++) {
                    for (int s = 0; s < specials.length; s++) {
                        int r = c * specials.length + s;
                        float special = Float.float16ToFloat(specials[s]);
                        float expected = Float.isNaN(special) ? Float.NaN : Math.copySign(Float.POSITIVE_INFINITY, special * x[columns[c]]);
                        org.junit.jupiter.api.Assertions.assertEquals(expected, y[r], "cols " + cols + " column " + columns[c]
                                + " half 0x" + Integer.toHexString(specials[s] & 0xFFFF));
                    }
                }
                // The last row is finite: the shifted path must take it (no false alarm from negative halves).
                RowKernels.Prepared prepared = F16Rows.prepare(x, cols);
                long last = data.address() + 2L * (rows - 1) * cols;
                assertTrue(!Float.isNaN(F16Rows.shiftedRow(last, prepared.xOrdered(), cols, new float[F16Rows.L])),
                        "cols " + cols + ": a finite row was taken for one with an infinity or NaN");
                float[] xInf = x.clone();
                xInf[cols / 3] = Float.NEGATIVE_INFINITY;
                FusedMatmul.multiply(w, xInf, 1, y, 1);
                for (int r = 0; r < rows; r++) {
                    float reference = 0;
                    for (int k = 0; k < cols; k++) {
                        reference = Math.fma(Float.float16ToFloat(data.get(ValueLayout.JAVA_SHORT_UNALIGNED, 2L * (r * cols + k))), xInf[k], reference);
                    }
                    org.junit.jupiter.api.Assertions.assertEquals(reference, y[r], "cols " + cols + " row " + r + " with x[" + cols / 3 + "] = -inf");
                }
            }
        }
    }

    /**
     * The 4-, 5- and 6-bit kernels scale x by powers of two internally (down to 2^-24 per byte position, after
     * normalising x's largest magnitude to [1, 2)), F16's by 2^112 after that normalisation; x scaled by 2^-110 or 2^+100 must give the results scaled by
     * exactly the same power (no bits lost to subnormals or overflow inside).
     */
    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q4_0", "Q4_K", "Q5_K", "Q6_K", "F16"})
    void powerOfTwoScaledInputsGiveExactlyScaledOutputs(GgmlType type) {
        Random rnd = new Random(5 + type.ordinal());
        byte[] raw = QuantTestData.randomBlocks(type, ROWS * COLS / type.blockSize, rnd);
        float[] x = QuantTestData.gaussian(COLS, rnd);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment data = QuantTestData.offHeap(arena, raw);
            WeightMatrix w = new WeightMatrix(type, data, ROWS, COLS);
            float[] y = new float[ROWS];
            FusedMatmul.multiply(w, x, 1, y, 1);
            for (int e : new int[] {-110, 100}) {
                float[] xs = new float[COLS];
                for (int k = 0; k < COLS; k++) xs[k] = Math.scalb(x[k], e);
                float[] ys = new float[ROWS];
                FusedMatmul.multiply(w, xs, 1, ys, 1);
                for (int r = 0; r < ROWS; r++) {
                    org.junit.jupiter.api.Assertions.assertEquals(Math.scalb(y[r], e), ys[r], type + " row " + r + " at 2^" + e);
                }
            }
        }
    }

    /**
     * Q8_0's kernels take each quant byte out of a packed int lane by shifts: every byte position must come out
     * sign-extended, -128 and 127 included. Rows whose 32 quants are all one value q (every q from -128 to 127, block
     * scale 1, plus a row of alternating extremes), times x = 1, must give exactly the integer sum of q over the row.
     */
    @org.junit.jupiter.api.Test
    void q8_0RowKernelSignExtendsEveryBytePosition() {
        int rows = 257, cols = 256, blocks = cols / 32;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment data = arena.allocate(34L * blocks * rows);
            long[] expected = new long[rows];
            for (int r = 0; r < rows; r++) {
                for (int b = 0; b < blocks; b++) {
                    long o = 34L * (r * blocks + b);
                    data.set(ValueLayout.JAVA_SHORT_UNALIGNED, o, Float.floatToFloat16(1f));
                    for (int i = 0; i < 32; i++) {
                        // Row 256: -128 and 127 alternating, shifted by one per block so each position sees both.
                        byte q = r < 256 ? (byte) (r - 128) : ((i + b) % 2 == 0 ? (byte) -128 : (byte) 127);
                        data.set(ValueLayout.JAVA_BYTE, o + 2 + i, q);
                        expected[r] += q;
                    }
                }
            }
            float[] x = new float[cols];
            java.util.Arrays.fill(x, 1f);
            float[] y = new float[rows];
            FusedMatmul.multiply(new WeightMatrix(GgmlType.Q8_0, data, rows, cols), x, 1, y, 2);
            for (int r = 0; r < rows; r++) {
                org.junit.jupiter.api.Assertions.assertEquals((float) expected[r], y[r], "row " + r);
            }
        }
    }

    /**
     * Q6_K's kernel assembles each 6-bit value in a byte and shifts byte 3 down without a mask, which is right only
     * while bits 6-7 of every assembled byte stay clear. Rows whose quants are all 63 (every ql and qh bit set), all
     * 0, or random, with scales at -128, 127 or random, against ggml's dequantisation formula recomputed here in
     * double (w = d * scale[i / 16] * (q - 32)), at a row length of 16 super-blocks.
     */
    @org.junit.jupiter.api.Test
    void q6_kExtremeQuantsAndScalesMatchDoubleRecomputation() {
        int blocks = COLS / 256, rows = 9;
        Random rnd = new Random(77);
        byte[] raw = new byte[rows * blocks * 210];
        for (int r = 0; r < rows; r++) {
            for (int b = 0; b < blocks; b++) {
                int o = (r * blocks + b) * 210;
                for (int i = 0; i < 192; i++) raw[o + i] = (byte) switch (r % 3) { case 0 -> 0xFF; case 1 -> 0; default -> rnd.nextInt(256); };
                for (int i = 0; i < 16; i++) raw[o + 192 + i] = (byte) switch (r / 3) { case 0 -> -128; case 1 -> 127; default -> rnd.nextInt(256); };
                short d = Float.floatToFloat16((float) (0.001 + 0.01 * rnd.nextDouble()));
                raw[o + 208] = (byte) d;
                raw[o + 209] = (byte) (d >> 8);
            }
        }
        float[] x = QuantTestData.gaussian(COLS, rnd);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment data = QuantTestData.offHeap(arena, raw);
            float[] y = new float[rows];
            FusedMatmul.multiply(new WeightMatrix(GgmlType.Q6_K, data, rows, COLS), x, 1, y, 1);
            for (int r = 0; r < rows; r++) {
                double exact = 0, magnitude = 0;
                for (int b = 0; b < blocks; b++) {
                    int o = (r * blocks + b) * 210;
                    double d = Float.float16ToFloat((short) ((raw[o + 208] & 0xFF) | (raw[o + 209] << 8)));
                    for (int i = 0; i < 256; i++) {
                        int half = i / 128, l = i % 32, group = (i % 128) / 32;
                        int ql = raw[o + 64 * half + l + 32 * (group % 2)] & 0xFF;
                        int qh = raw[o + 128 + 32 * half + l] & 0xFF;
                        int q = (group < 2 ? ql & 0xF : ql >> 4) | ((qh >> (2 * group)) & 3) << 4;
                        double term = d * raw[o + 192 + 8 * half + group * 2 + l / 16] * (q - 32) * x[256 * b + i];
                        exact += term;
                        magnitude += Math.abs(term);
                    }
                }
                double err = Math.abs(y[r] - exact) / magnitude;
                assertTrue(err <= 1e-5, "row " + r + ": got " + y[r] + ", exact " + exact + ", relative error " + err);
            }
        }
    }

    /**
     * Q4_0 at 256 bits runs two blocks per vector and an odd last block at 128 bits: row lengths of 1, 3, 9 and 127
     * blocks (an odd tail after 0, 1, 4 and 63 pairs) and 128 (pairs only), against dequantise-then-dot in double,
     * and bit for bit from a fresh call after warm-up.
     */
    @org.junit.jupiter.api.Test
    void q4_0OddBlockCountsMatchDoubleReference() {
        GgmlType type = GgmlType.Q4_0;
        for (int cols : new int[] {32, 96, 288, 4064, 4096}) {
            int rows = 7;
            Random rnd = new Random(41 + cols);
            byte[] raw = QuantTestData.randomBlocks(type, rows * cols / 32, rnd);
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment data = QuantTestData.offHeap(arena, raw);
                WeightMatrix w = new WeightMatrix(type, data, rows, cols);
                float[] x = QuantTestData.gaussian(cols, rnd);
                float[] cold = new float[rows];
                FusedMatmul.multiply(w, x, 1, cold, 1);
                for (int r = 0; r < rows; r++) {
                    // ggml's Q4_0: w = d * (q - 8), q the low nibble of byte i for element i, the high nibble for i + 16.
                    double exact = 0, magnitude = 0;
                    for (int b = 0; b < cols / 32; b++) {
                        int o = (r * cols / 32 + b) * 18;
                        double d = Float.float16ToFloat((short) ((raw[o] & 0xFF) | (raw[o + 1] << 8)));
                        for (int i = 0; i < 32; i++) {
                            int q = i < 16 ? raw[o + 2 + i] & 0xF : (raw[o + 2 + i - 16] >> 4) & 0xF;
                            double term = d * (q - 8) * x[32 * b + i];
                            exact += term;
                            magnitude += Math.abs(term);
                        }
                    }
                    double err = Math.abs(cold[r] - exact) / magnitude;
                    assertTrue(err <= 1e-5, "cols " + cols + " row " + r + ": got " + cold[r] + ", exact " + exact + ", relative error " + err);
                }
                float[] warm = new float[rows];
                for (int rep = 0; rep < 4000; rep++) FusedMatmul.multiply(w, x, 1, warm, 1);
                assertArrayEquals(cold, warm, "cols " + cols + ": first call and after warm-up differ");
            }
        }
    }

    /**
     * Q4_K's and Q5_K's kernels unpack the 6-bit scales and mins once per block into floats and assemble Q5_K's
     * fifth bit in place (shifted by a count that depends on the 32-weight group, right for the last one). Rows
     * whose quant bytes (and Q5_K's high bits) are all set, all clear or random, with all 12 scale bytes 0xFF
     * (every scale and min 63), 0 or random, against ggml's dequantisation (get_scale_min_k4, w = d * sc * q - dmin *
     * m) recomputed here in double.
     */
    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q4_K", "Q5_K"})
    void kQuantExtremeQuantsScalesAndMinsMatchDoubleRecomputation(GgmlType type) {
        boolean five = type == GgmlType.Q5_K;
        int blockBytes = five ? 176 : 144, qs = five ? 48 : 16;
        int blocks = COLS / 256, rows = 9;
        Random rnd = new Random(79);
        byte[] raw = new byte[rows * blocks * blockBytes];
        for (int r = 0; r < rows; r++) {
            for (int b = 0; b < blocks; b++) {
                int o = (r * blocks + b) * blockBytes;
                for (int i = 16; i < blockBytes; i++) raw[o + i] = (byte) switch (r % 3) { case 0 -> 0xFF; case 1 -> 0; default -> rnd.nextInt(256); };
                for (int i = 4; i < 16; i++) raw[o + i] = (byte) switch (r / 3) { case 0 -> 0xFF; case 1 -> 0; default -> rnd.nextInt(256); };
                short d = Float.floatToFloat16((float) (0.001 + 0.01 * rnd.nextDouble()));
                short dmin = Float.floatToFloat16((float) (0.001 + 0.01 * rnd.nextDouble()));
                raw[o] = (byte) d;
                raw[o + 1] = (byte) (d >> 8);
                raw[o + 2] = (byte) dmin;
                raw[o + 3] = (byte) (dmin >> 8);
            }
        }
        float[] x = QuantTestData.gaussian(COLS, rnd);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment data = QuantTestData.offHeap(arena, raw);
            float[] y = new float[rows];
            FusedMatmul.multiply(new WeightMatrix(type, data, rows, COLS), x, 1, y, 1);
            for (int r = 0; r < rows; r++) {
                double exact = 0, magnitude = 0;
                for (int b = 0; b < blocks; b++) {
                    int o = (r * blocks + b) * blockBytes;
                    double d = Float.float16ToFloat((short) ((raw[o] & 0xFF) | (raw[o + 1] << 8)));
                    double dmin = Float.float16ToFloat((short) ((raw[o + 2] & 0xFF) | (raw[o + 3] << 8)));
                    for (int i = 0; i < 256; i++) {
                        int sub = i / 32, l = i % 32, group = i / 64;
                        int[] scMin = scaleMinK4(sub, raw, o + 4);
                        int byteQ = raw[o + qs + 32 * group + l] & 0xFF;
                        int q = sub % 2 == 0 ? byteQ & 0xF : byteQ >> 4;
                        if (five && (raw[o + 16 + l] & (1 << sub)) != 0) q += 16;
                        double term = (d * scMin[0] * q - dmin * scMin[1]) * x[256 * b + i];
                        exact += term;
                        magnitude += Math.abs(term);
                    }
                }
                // All-zero scale bytes make every weight 0 (scale and min 0): then the row must be exactly 0.
                double err = magnitude == 0 ? Math.abs(y[r]) : Math.abs(y[r] - exact) / magnitude;
                assertTrue(err <= 1e-5, type + " row " + r + ": got " + y[r] + ", exact " + exact + ", relative error " + err);
            }
        }
    }

    /** ggml's get_scale_min_k4: sub-block j's 6-bit scale and min from the 12 bytes at q[o..o+12). */
    /**
     * The K-quant kernels read x's native copy through an unbounded segment, so Prepared must refuse a copy that does
     * not hold exactly the ordered x; withNativeX's copy holds the same floats.
     */
    @Test
    void nativeXMustMatchTheOrderedX() {
        float[] xo = {1f, -2f, 0.5f, 3f};
        RowKernels.Prepared p = new RowKernels.Prepared(null, xo, 0).withNativeX();
        assertEquals(16, p.xOrderedNative().byteSize());
        for (int i = 0; i < xo.length; i++) assertEquals(xo[i], p.xOrderedNative().getAtIndex(ValueLayout.JAVA_FLOAT, i));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment tooShort = arena.allocate(12);
            assertThrows(IllegalArgumentException.class, () -> new RowKernels.Prepared(null, xo, 0, tooShort));
            assertThrows(IllegalArgumentException.class, () -> new RowKernels.Prepared(null, null, 0, tooShort));
        }
    }

    private static int[] scaleMinK4(int j, byte[] q, int o) {
        if (j < 4) return new int[] {q[o + j] & 63, q[o + j + 4] & 63};
        return new int[] {(q[o + j + 4] & 0xF) | ((q[o + j - 4] & 0xFF) >> 6) << 4, ((q[o + j + 4] & 0xFF) >> 4) | ((q[o + j] & 0xFF) >> 6) << 4};
    }
}
