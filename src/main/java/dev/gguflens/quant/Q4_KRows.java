package dev.gguflens.quant;

import static dev.gguflens.quant.PackedRowKernels.F;
import static dev.gguflens.quant.PackedRowKernels.I;
import static dev.gguflens.quant.PackedRowKernels.I16;
import static dev.gguflens.quant.PackedRowKernels.I32;
import static dev.gguflens.quant.PackedRowKernels.L;
import static dev.gguflens.quant.PackedRowKernels.LE;
import static dev.gguflens.quant.PackedRowKernels.UNCUT;
import static dev.gguflens.quant.PackedRowKernels.laneSum;
import static dev.gguflens.quant.PackedRowKernels.view;

import dev.gguflens.gguf.GgmlType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Q4_K's m = 1 row kernel (super-blocks of 256 four-bit weights, 8 six-bit scales and mins): the packed int-lane
 * layout of {@link PackedRowKernels} with its masked nibble extraction.
 */
final class Q4_KRows {
    /** A block's 8 six-bit scales and 8 mins, one per byte, as one 128-bit vector of two longs. */
    private static final VectorSpecies<Long> L2 = LongVector.SPECIES_128;
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(LE);

    private Q4_KRows() {
    }

    static RowKernels.Prepared prepare(float[] x, int cols) {
        return PackedRowKernels.prepareMasked(GgmlType.Q4_K, x, cols, L);
    }

    static void rows(long address, int nr, long rowBytes, float[] xo, int blocks, int exponent, float[] sums, float[] y, int yo) {
        float[] lanes = new float[L];
        if (L == 8) {
            for (int j = 0; j < nr; j++) y[yo + j] = Math.scalb(q4_k8(address + j * rowBytes, xo, blocks, sums, lanes), -exponent);
            return;
        }
        float[] scales = new float[8 * blocks];
        for (int j = 0; j < nr; j++) {
            long row = address + j * rowBytes;
            float mins = scalesAndMins(row, 144, blocks, sums, scales, lanes);
            q4Quants(row, xo, blocks, scales, lanes);
            y[yo + j] = Math.scalb(laneSum(lanes, L) - mins, -exponent);
        }
    }

    /**
     * Q4_K at 256 bits, block by block: the 8 six-bit scales and mins as in get_scale_min_k4, one per byte of sc
     * and mn, the scales converted per group. The 128-bit loop order ({@link #q4Quants}: scales unpacked in a pass
     * of their own, the group outer, the block inner) has 208 + 74 instructions per block here against this loop's
     * 348 and was 25% faster on one thread with rows in L2, but not faster in bench's two-thread product over
     * 151936 rows (Java/ggml 2.38 and 2.05 against 2.10 and 1.78; two threads over 32768 rows alternating in one
     * process: median 13.9 against 12.7 ms): the scale pass and the four group passes read each row with a
     * 144-byte stride instead of once in order, an inference from where the two loops differ (not measured with
     * counters).
     */
    private static float q4_k8(long address, float[] xo, int blocks, float[] xSums, float[] lanes) {
        MemorySegment w = view(address, 144L * blocks);
        FloatVector accLo = FloatVector.zero(F), accHi = accLo, accMin = accLo;
        for (int b = 0; b < blocks; b++) {
            long o = 144L * b;
            int s0 = w.get(I32, o + 4), s1 = w.get(I32, o + 8), s2 = w.get(I32, o + 12);
            long sc = RowKernels.sixBitBytes(s0, s2);
            long mn = RowKernels.sixBitBytes(s1, s2 >>> 4);
            float d = Float.float16ToFloat(w.get(I16, o));
            for (int p = 0; p < 4; p++) {
                // Group p: 32 bytes, low nibbles = sub-block 2p, high nibbles = sub-block 2p+1.
                FloatVector lo = FloatVector.zero(F), hi = lo;
                for (int c = 0; c < 32; c += 4 * L) {
                    IntVector q = IntVector.fromMemorySegment(I, w, o + 16 + 32 * p + c, LE), q4 = q.lanewise(VectorOperators.LSHR, 4);
                    int xk = 256 * b + 64 * p + c;
                    for (int j = 0; j < 4; j++) {
                        lo = ((FloatVector) q.and(0xF << (8 * j)).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xo, xk + j * L), lo);
                        hi = ((FloatVector) q4.and(0xF << (8 * j)).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xo, xk + 32 + j * L), hi);
                    }
                }
                accLo = lo.fma(FloatVector.broadcast(F, d * ((int) (sc >>> (16 * p)) & 0xFF)), accLo);
                accHi = hi.fma(FloatVector.broadcast(F, d * ((int) (sc >>> (16 * p + 8)) & 0xFF)), accHi);
            }
            {
                // The 8 mins as floats times the 8 sub-block sums of x, lane-wise.
                ByteVector m = IntVector.zero(IntVector.SPECIES_64).withLane(0, (int) mn).withLane(1, (int) (mn >>> 32)).reinterpretAsBytes();
                accMin = ((FloatVector) m.convertShape(VectorOperators.B2F, F, 0)).mul(FloatVector.fromArray(F, xSums, 8 * b))
                        .fma(FloatVector.broadcast(F, Float.float16ToFloat(w.get(I16, o + 2))), accMin);
            }
        }
        accLo.add(accHi).sub(accMin).intoArray(lanes, 0);
        return laneSum(lanes, L);
    }


    /**
     * The row's sub-block scales times d into scales[8b + s] (for {@link #q4Quants} and Q5_K's loop, which then
     * load each with one broadcast), and the min term dmin * sum_s m_s * (sum of x over sub-block s), returned:
     * the six-bit unpacking (get_scale_min_k4) and both F16 conversions once per block, outside the FMA loop.
     * Q4_K and Q5_K share this head layout (d, dmin, 12 scale bytes); blockBytes is the type's block size.
     */
    static float scalesAndMins(long address, long blockBytes, int blocks, float[] xSums, float[] scales, float[] lanes) {
        MemorySegment w = view(address, UNCUT);
        FloatVector accMin = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++) {
            long o = blockBytes * b;
            // The 16-byte head as two words: d, dmin and scale word 0; scale words 1 and 2.
            long h0 = w.get(I64, o), h1 = w.get(I64, o + 8);
            int s0 = (int) (h0 >>> 32), s1 = (int) h1, s2 = (int) (h1 >>> 32);
            // Bytes 0-7 the scales, 8-15 the mins.
            ByteVector sm = LongVector.zero(L2).withLane(0, RowKernels.sixBitBytes(s0, s2))
                    .withLane(1, RowKernels.sixBitBytes(s1, s2 >>> 4)).reinterpretAsBytes();
            FloatVector d = FloatVector.broadcast(F, Float.float16ToFloat((short) h0));
            FloatVector dmin = FloatVector.broadcast(F, Float.float16ToFloat((short) (h0 >>> 16)));
            for (int part = 0; part < 8 / L; part++) {
                ((FloatVector) sm.convertShape(VectorOperators.B2F, F, part)).mul(d).intoArray(scales, 8 * b + L * part);
                accMin = ((FloatVector) sm.convertShape(VectorOperators.B2F, F, 8 / L + part)).mul(FloatVector.fromArray(F, xSums, 8 * b + L * part))
                        .fma(dmin, accMin);
            }
        }
        accMin.intoArray(lanes, 0);
        return laneSum(lanes, L);
    }

    /**
     * lanes = sum over blocks of d * sc_s * q * x (the min term is {@link #scalesAndMins}'). Group p (32 bytes: low
     * nibbles sub-block 2p, high nibbles 2p+1) is the outer loop and the block the inner one, as in Q6_KRows: every
     * index in the block loop is then the block index times a constant plus a loop invariant, so C2 removes x's and
     * the scales' bounds checks from it, and the block loop's body is straight-line code with the nibble masks
     * hoisted (at 128 bits they were reloaded at every use, 64 broadcasts per block). Each group runs to the end of
     * its two FMA chains (low, high) before its two scales multiply them into the accumulators; at 128 bits the
     * group's second 16 bytes are written out with chains of their own (a loop over the two chunks kept C2 from
     * compiling the block loop as a counted loop; one chunk per pass of the block loop had 52 instructions per
     * chunk, this 87 per group). Instructions per block (hsdis, C2): 256 bits 348 before (80 of them scale
     * conversions, 48 bounds checks), 208 here plus 77 in scalesAndMins; 128 bits ~550 before (64 mask
     * broadcasts), 348 + 93. One thread, rows in L2, alternating in one process (load 5-7): 256 bits 35.2 and
     * 53.3 ns per block before, 26.4 and 33.3-36.3 after; 128 bits 69.7 and 53.3 before, 38.4 after.
     */
    private static void q4Quants(long address, float[] xo, int blocks, float[] scales, float[] lanes) {
        MemorySegment w = view(address, UNCUT);
        FloatVector accLo = FloatVector.zero(F), accHi = accLo;
        for (int p = 0; p < 4; p++) {
            for (int b = 0; b < blocks; b++) {
                int xk = 256 * b + 64 * p;
                long o = 144L * b + 16 + 32 * p;
                IntVector q = IntVector.fromMemorySegment(I, w, o, LE), q4 = q.lanewise(VectorOperators.LSHR, 4);
                FloatVector lo = ((FloatVector) q.and(0xF).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromArray(F, xo, xk));
                FloatVector hi = ((FloatVector) q4.and(0xF).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromArray(F, xo, xk + 32));
                for (int j = 1; j < 4; j++) {
                    lo = ((FloatVector) q.and(0xF << (8 * j)).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xo, xk + j * L), lo);
                    hi = ((FloatVector) q4.and(0xF << (8 * j)).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xo, xk + 32 + j * L), hi);
                }
                if (L == 4) {
                    IntVector r = IntVector.fromMemorySegment(I, w, o + 16, LE), r4 = r.lanewise(VectorOperators.LSHR, 4);
                    FloatVector lo2 = ((FloatVector) r.and(0xF).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromArray(F, xo, xk + 16));
                    FloatVector hi2 = ((FloatVector) r4.and(0xF).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromArray(F, xo, xk + 48));
                    for (int j = 1; j < 4; j++) {
                        lo2 = ((FloatVector) r.and(0xF << (8 * j)).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xo, xk + 16 + j * L), lo2);
                        hi2 = ((FloatVector) r4.and(0xF << (8 * j)).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xo, xk + 48 + j * L), hi2);
                    }
                    lo = lo.add(lo2);
                    hi = hi.add(hi2);
                }
                accLo = lo.fma(FloatVector.broadcast(F, scales[8 * b + 2 * p]), accLo);
                accHi = hi.fma(FloatVector.broadcast(F, scales[8 * b + 2 * p + 1]), accHi);
            }
        }
        accLo.add(accHi).intoArray(lanes, 0);
    }
}
