package dev.gguflens.quant;

import static dev.gguflens.quant.PackedRowKernels.BYTE_SHIFTS;
import static dev.gguflens.quant.PackedRowKernels.F;
import static dev.gguflens.quant.PackedRowKernels.I;
import static dev.gguflens.quant.PackedRowKernels.L;
import static dev.gguflens.quant.PackedRowKernels.LE;
import static dev.gguflens.quant.PackedRowKernels.UNCUT;
import static dev.gguflens.quant.PackedRowKernels.UPPER_FOUR;
import static dev.gguflens.quant.PackedRowKernels.laneSum;
import static dev.gguflens.quant.PackedRowKernels.view;

import dev.gguflens.gguf.GgmlType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q4_K's m = 1 row kernel (super-blocks of 256 four-bit weights, 8 six-bit scales and mins): the packed int-lane
 * layout of {@link PackedRowKernels} with its masked nibble extraction.
 */
final class Q4_KRows {
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(LE);

    private Q4_KRows() {
    }

    /** x as {@link PackedRowKernels#prepareMasked} orders and scales it, also in native memory. */
    static RowKernels.Prepared prepare(float[] x, int cols) {
        return PackedRowKernels.prepareMasked(GgmlType.Q4_K, x, cols, L).withNativeX();
    }

    static void rows(long address, int nr, long rowBytes, RowKernels.Prepared p, int blocks, float[] y, int yo) {
        float[] lanes = new float[L], blockScales = new float[8], sums = p.xSums();
        long x = p.xOrderedNative().address();
        int exponent = p.exponent();
        for (int j = 0; j < nr; j++) {
            y[yo + j] = Math.scalb(q4_k(address + j * rowBytes, x, blocks, sums, blockScales, lanes), -exponent);
        }
    }

    /**
     * Q4_K block by block (one pass over the row, in order): the 8 six-bit scales and mins as in
     * get_scale_min_k4, one per byte; the scales widened and multiplied by d as one vector (two at 128 bits) and
     * stored to blockScales, from which each group broadcasts its two; x read from native memory (the ordered x
     * at xAddress) through a segment of unbounded size, so that neither the weights nor x carry a bounds check.
     * At 256 bits a 32-weight group is one int vector, at 128 bits two 16-byte chunks with FMA chains of their
     * own. 256 bits: 4 groups of 38 instructions per block (8 masks, 8 conversions, 2 products, 6 FMAs, 2 scale
     * FMAs, loads and loop) and ~55 in the block's head (hsdis, C2); the loop it replaced, with x in an array and
     * each scale converted and multiplied by d in scalar code (9 instructions per scale), had ~230, with two
     * bounds checks on x and one on the weights per group; same bits. One thread, rows in L2 (RowLab l2, 32768
     * x 4096, alternating): 19.4 against 23.2 ns per block; two threads streaming 151936 rows, alternating
     * processes: Java/ggml 1.43-1.46 against 1.53-2.24. 128 bits: it replaces a loop that unpacked the scales
     * in a pass of its own and then took the group as the outer loop and the block as the inner one (so that C2
     * could drop x's bounds checks), reading each row five times with a 144-byte stride: 37.4 against 46.1 ns
     * per block in L2, 40.5 against 53.0 streaming (one thread; the sums' order, and so the last bits, differ).
     */
    private static float q4_k(long address, long xAddress, int blocks, float[] xSums, float[] blockScales, float[] lanes) {
        MemorySegment w = view(address, UNCUT), xs = view(xAddress, UNCUT);
        FloatVector accLo = FloatVector.zero(F), accHi = accLo, accMin = accLo;
        for (int b = 0; b < blocks; b++) {
            long o = 144L * b;
            // The 16-byte head as two words: d, dmin and scale word 0; scale words 1 and 2.
            long h0 = w.get(I64, o), h1 = w.get(I64, o + 8);
            int s0 = (int) (h0 >>> 32), s1 = (int) h1, s2 = (int) (h1 >>> 32);
            long sc = RowKernels.sixBitBytes(s0, s2), mn = RowKernels.sixBitBytes(s1, s2 >>> 4);
            FloatVector d = FloatVector.broadcast(F, Float.float16ToFloat((short) h0));
            FloatVector dmin = FloatVector.broadcast(F, Float.float16ToFloat((short) (h0 >>> 16)));
            for (int part = 0; part < 8 / L; part++) {
                // The L scale (min) bytes L*part.. as int lanes, each shifted down to its byte: only broadcasts,
                // shifts and the conversion the kernel uses anyway (see PackedRowKernels.BYTE_SHIFTS).
                IntVector scWords = L == 8 ? IntVector.broadcast(I, (int) sc).blend(IntVector.broadcast(I, (int) (sc >>> 32)), UPPER_FOUR)
                        : IntVector.broadcast(I, (int) (sc >>> (32 * part)));
                IntVector mnWords = L == 8 ? IntVector.broadcast(I, (int) mn).blend(IntVector.broadcast(I, (int) (mn >>> 32)), UPPER_FOUR)
                        : IntVector.broadcast(I, (int) (mn >>> (32 * part)));
                ((FloatVector) scWords.lanewise(VectorOperators.LSHR, BYTE_SHIFTS).and(0xFF).convert(VectorOperators.I2F, 0))
                        .mul(d).intoArray(blockScales, L * part);
                // The mins as floats times the sub-block sums of x, lane-wise, times dmin.
                accMin = ((FloatVector) mnWords.lanewise(VectorOperators.LSHR, BYTE_SHIFTS).and(0xFF).convert(VectorOperators.I2F, 0))
                        .mul(FloatVector.fromArray(F, xSums, 8 * b + L * part)).fma(dmin, accMin);
            }
            for (int p = 0; p < 4; p++) {
                // Group p: 32 bytes, low nibbles = sub-block 2p, high nibbles = sub-block 2p+1. Byte offsets into x
                // in long arithmetic from the start: from an int product C2 could not prove them below the bound.
                long xk = 1024L * b + 256L * p;
                IntVector q = IntVector.fromMemorySegment(I, w, o + 16 + 32 * p, LE), q4 = q.lanewise(VectorOperators.LSHR, 4);
                FloatVector lo = ((FloatVector) q.and(0xF).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromMemorySegment(F, xs, xk, LE));
                FloatVector hi = ((FloatVector) q4.and(0xF).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromMemorySegment(F, xs, xk + 128, LE));
                for (int j = 1; j < 4; j++) {
                    lo = ((FloatVector) q.and(0xF << (8 * j)).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromMemorySegment(F, xs, xk + 4 * j * L, LE), lo);
                    hi = ((FloatVector) q4.and(0xF << (8 * j)).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromMemorySegment(F, xs, xk + 128 + 4 * j * L, LE), hi);
                }
                if (L == 4) {
                    // The group's second 16 bytes (weights 16..31 and 48..63 of the group), written out: a loop over
                    // 16-byte chunks with a scale product each was 1.2-1.3x slower here (one thread, same process).
                    IntVector r = IntVector.fromMemorySegment(I, w, o + 32 + 32 * p, LE), r4 = r.lanewise(VectorOperators.LSHR, 4);
                    FloatVector lo2 = ((FloatVector) r.and(0xF).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromMemorySegment(F, xs, xk + 64, LE));
                    FloatVector hi2 = ((FloatVector) r4.and(0xF).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromMemorySegment(F, xs, xk + 192, LE));
                    for (int j = 1; j < 4; j++) {
                        lo2 = ((FloatVector) r.and(0xF << (8 * j)).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromMemorySegment(F, xs, xk + 64 + 4 * j * L, LE), lo2);
                        hi2 = ((FloatVector) r4.and(0xF << (8 * j)).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromMemorySegment(F, xs, xk + 192 + 4 * j * L, LE), hi2);
                    }
                    lo = lo.add(lo2);
                    hi = hi.add(hi2);
                }
                accLo = lo.fma(FloatVector.broadcast(F, blockScales[2 * p]), accLo);
                accHi = hi.fma(FloatVector.broadcast(F, blockScales[2 * p + 1]), accHi);
            }
        }
        accLo.add(accHi).sub(accMin).intoArray(lanes, 0);
        return laneSum(lanes, L);
    }
}
