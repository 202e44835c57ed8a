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
 * Q5_K's m = 1 row kernel (Q4_K's layout with a fifth bit per weight): the packed int-lane layout of {@link
 * PackedRowKernels} with its masked nibble extraction.
 */
final class Q5_KRows {
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(LE);

    private Q5_KRows() {
    }

    /** x as {@link PackedRowKernels#prepareMasked} orders and scales it, also in native memory. */
    static RowKernels.Prepared prepare(float[] x, int cols) {
        return PackedRowKernels.prepareMasked(GgmlType.Q5_K, x, cols, L).withNativeX();
    }

    static void rows(long address, int nr, long rowBytes, RowKernels.Prepared p, int blocks, float[] y, int yo) {
        float[] lanes = new float[L], blockScales = new float[8], sums = p.xSums();
        long x = p.xOrderedNative().address();
        int exponent = p.exponent();
        for (int j = 0; j < nr; j++) {
            y[yo + j] = Math.scalb(q5_k(address + j * rowBytes, x, blocks, sums, blockScales, lanes), -exponent);
        }
    }

    /**
     * Q5_K block by block, as Q4_KRows.q4_k (the same head: d, dmin, 12 bytes of six-bit scales and mins; x from
     * native memory through an unbounded segment), with the fifth bits (qh bit 2p for group p's low nibbles, 2p+1
     * for its high nibbles) shifted to bit 4 of each byte (right by 2p, left by 4: with one shift chosen by p, as
     * the group-outer loop had it, the branch inside this loop made the kernel 2x slower at 128 bits) and or-ed
     * onto the nibbles in place. It replaces, at 256 bits, a loop with x in an array and each scale
     * converted in scalar code, and at 128 bits one that unpacked the scales in a pass of their own and then took
     * the group as the outer loop (see Q4_KRows.q4_k for both); the sums' order, and so the last bits, differ at
     * 128 bits. One thread, same process against a copy of the old kernels: 256 bits 27.6 against 44.6 ns per
     * block in L2, 36.1 against 52.4 streaming; 128 bits a tie in L2, 76 against 92 streaming. The block head is
     * Q4_KRows.q4_k's written out again, not shared: a helper would pass vectors across a call that C2 may
     * compile on its own and not inline (see PackedRowKernels).
     */
    private static float q5_k(long address, long xAddress, int blocks, float[] xSums, float[] blockScales, float[] lanes) {
        MemorySegment w = view(address, UNCUT), xs = view(xAddress, UNCUT);
        FloatVector accLo = FloatVector.zero(F), accHi = accLo, accMin = accLo;
        for (int b = 0; b < blocks; b++) {
            long o = 176L * b;
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
                long xk = 1024L * b + 256L * p;
                IntVector q = IntVector.fromMemorySegment(I, w, o + 48 + 32 * p, LE);
                IntVector h = IntVector.fromMemorySegment(I, w, o + 16, LE);
                IntVector hs = h.lanewise(VectorOperators.LSHR, 2 * p).lanewise(VectorOperators.LSHL, 4);
                IntVector ql = q.and(0x0F0F0F0F).or(hs.and(0x10101010));
                IntVector qh = q.lanewise(VectorOperators.LSHR, 4).and(0x0F0F0F0F).or(hs.lanewise(VectorOperators.LSHR, 1).and(0x10101010));
                FloatVector lo = ((FloatVector) ql.and(0xFF).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromMemorySegment(F, xs, xk, LE));
                FloatVector hi = ((FloatVector) qh.and(0xFF).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromMemorySegment(F, xs, xk + 128, LE));
                for (int j = 1; j < 4; j++) {
                    lo = ((FloatVector) ql.and(0xFF << (8 * j)).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromMemorySegment(F, xs, xk + 4 * j * L, LE), lo);
                    hi = ((FloatVector) qh.and(0xFF << (8 * j)).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromMemorySegment(F, xs, xk + 128 + 4 * j * L, LE), hi);
                }
                if (L == 4) {
                    // The group's second 16 bytes and their fifth bits (qh bytes 16..31), written out as in Q4_KRows.
                    q = IntVector.fromMemorySegment(I, w, o + 64 + 32 * p, LE);
                    h = IntVector.fromMemorySegment(I, w, o + 32, LE);
                    hs = h.lanewise(VectorOperators.LSHR, 2 * p).lanewise(VectorOperators.LSHL, 4);
                    ql = q.and(0x0F0F0F0F).or(hs.and(0x10101010));
                    qh = q.lanewise(VectorOperators.LSHR, 4).and(0x0F0F0F0F).or(hs.lanewise(VectorOperators.LSHR, 1).and(0x10101010));
                    FloatVector lo2 = ((FloatVector) ql.and(0xFF).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromMemorySegment(F, xs, xk + 64, LE));
                    FloatVector hi2 = ((FloatVector) qh.and(0xFF).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromMemorySegment(F, xs, xk + 192, LE));
                    for (int j = 1; j < 4; j++) {
                        lo2 = ((FloatVector) ql.and(0xFF << (8 * j)).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromMemorySegment(F, xs, xk + 64 + 4 * j * L, LE), lo2);
                        hi2 = ((FloatVector) qh.and(0xFF << (8 * j)).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromMemorySegment(F, xs, xk + 192 + 4 * j * L, LE), hi2);
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
