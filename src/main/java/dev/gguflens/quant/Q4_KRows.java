package dev.gguflens.quant;

import static dev.gguflens.quant.PackedRowKernels.F;
import static dev.gguflens.quant.PackedRowKernels.I;
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
    /** 8 bytes (a block's 8 scales or 8 mins) as a 64-bit vector of two int lanes. */
    private static final VectorSpecies<Integer> EIGHT_BYTES = IntVector.SPECIES_64;

    private Q4_KRows() {
    }

    /** x as {@link PackedRowKernels#prepareMasked} orders and scales it; at 256 bits also in native memory. */
    static RowKernels.Prepared prepare(float[] x, int cols) {
        RowKernels.Prepared p = PackedRowKernels.prepareMasked(GgmlType.Q4_K, x, cols, L);
        return L == 8 ? p.withNativeX() : p;
    }

    static void rows(long address, int nr, long rowBytes, RowKernels.Prepared p, int blocks, float[] y, int yo) {
        float[] lanes = new float[L], sums = p.xSums();
        int exponent = p.exponent();
        if (L == 8) {
            float[] blockScales = new float[8];
            long x = p.xOrderedNative().address();
            for (int j = 0; j < nr; j++) {
                y[yo + j] = Math.scalb(q4_k8(address + j * rowBytes, x, blocks, sums, blockScales, lanes), -exponent);
            }
            return;
        }
        float[] xo = p.xOrdered();
        float[] scales = new float[8 * blocks];
        for (int j = 0; j < nr; j++) {
            long row = address + j * rowBytes;
            float mins = scalesAndMins(row, 144, blocks, sums, scales, lanes);
            q4Quants(row, xo, blocks, scales, lanes);
            y[yo + j] = Math.scalb(laneSum(lanes, L) - mins, -exponent);
        }
    }

    /**
     * Q4_K at 256 bits, block by block (one pass over the row, in order): the 8 six-bit scales and mins as in
     * get_scale_min_k4, one per byte; the scales widened and multiplied by d as one vector and stored to
     * blockScales, from which each group broadcasts its two; x read from native memory (the ordered x at
     * xAddress) through a segment of unbounded size, so that neither the weights nor x carry a bounds check.
     * Per block 4 groups of 38 instructions (8 masks, 8 conversions, 2 products, 6 FMAs, 2 scale FMAs, loads and
     * loop) and ~55 in the block's head (hsdis, C2); the loop it replaced, with x in an array and each scale
     * converted and multiplied by d in scalar code (9 instructions per scale), had ~230, with two bounds checks on
     * x and one on the weights per group. Same
     * bits. One thread, rows in L2 (RowLab l2, 32768 x 4096, alternating): 19.4 against 23.2 ns per block;
     * two threads streaming 151936 rows: 40.5 against 49.8 ms (a disturbed VM; ggml 25.3). The 128-bit loop
     * order ({@link #q4Quants}: scales in a pass of their own, then each group's pass over the row) was 25%
     * faster than the old loop in L2 but not when streaming from DRAM, as it reads each row with a 144-byte
     * stride five times.
     */
    private static float q4_k8(long address, long xAddress, int blocks, float[] xSums, float[] blockScales, float[] lanes) {
        MemorySegment w = view(address, UNCUT), xs = view(xAddress, UNCUT);
        FloatVector accLo = FloatVector.zero(F), accHi = accLo, accMin = accLo;
        for (int b = 0; b < blocks; b++) {
            long o = 144L * b;
            // The 16-byte head as two words: d, dmin and scale word 0; scale words 1 and 2.
            long h0 = w.get(I64, o), h1 = w.get(I64, o + 8);
            int s0 = (int) (h0 >>> 32), s1 = (int) h1, s2 = (int) (h1 >>> 32);
            long sc = RowKernels.sixBitBytes(s0, s2), mn = RowKernels.sixBitBytes(s1, s2 >>> 4);
            // Two int lanes, not one long: C2 compiles no vector of a single long lane.
            ByteVector scBytes = IntVector.zero(EIGHT_BYTES).withLane(0, (int) sc).withLane(1, (int) (sc >>> 32)).reinterpretAsBytes();
            ByteVector mnBytes = IntVector.zero(EIGHT_BYTES).withLane(0, (int) mn).withLane(1, (int) (mn >>> 32)).reinterpretAsBytes();
            FloatVector d = FloatVector.broadcast(F, Float.float16ToFloat((short) h0));
            ((FloatVector) scBytes.convertShape(VectorOperators.B2F, F, 0)).mul(d).intoArray(blockScales, 0);
            // The 8 mins as floats times the 8 sub-block sums of x, lane-wise, times dmin.
            accMin = ((FloatVector) mnBytes.convertShape(VectorOperators.B2F, F, 0)).mul(FloatVector.fromArray(F, xSums, 8 * b))
                    .fma(FloatVector.broadcast(F, Float.float16ToFloat((short) (h0 >>> 16))), accMin);
            for (int p = 0; p < 4; p++) {
                // Group p: 32 bytes, low nibbles = sub-block 2p, high nibbles = sub-block 2p+1. Offsets into x in
                // long arithmetic from the start: from an int product C2 could not prove them below the bound.
                IntVector q = IntVector.fromMemorySegment(I, w, o + 16 + 32 * p, LE), q4 = q.lanewise(VectorOperators.LSHR, 4);
                long xk = 1024L * b + 256L * p;
                FloatVector lo = ((FloatVector) q.and(0xF).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromMemorySegment(F, xs, xk, LE));
                FloatVector hi = ((FloatVector) q4.and(0xF).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromMemorySegment(F, xs, xk + 128, LE));
                for (int j = 1; j < 4; j++) {
                    lo = ((FloatVector) q.and(0xF << (8 * j)).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromMemorySegment(F, xs, xk + 4 * j * L, LE), lo);
                    hi = ((FloatVector) q4.and(0xF << (8 * j)).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromMemorySegment(F, xs, xk + 128 + 4 * j * L, LE), hi);
                }
                accLo = lo.fma(FloatVector.broadcast(F, blockScales[2 * p]), accLo);
                accHi = hi.fma(FloatVector.broadcast(F, blockScales[2 * p + 1]), accHi);
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
