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
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q5_K's m = 1 row kernel (Q4_K's layout with a fifth bit per weight): the packed int-lane layout of {@link
 * PackedRowKernels} with its masked nibble extraction.
 */
final class Q5_KRows {
    private Q5_KRows() {
    }

    static RowKernels.Prepared prepare(float[] x, int cols) {
        return PackedRowKernels.prepareMasked(GgmlType.Q5_K, x, cols, L);
    }

    static void rows(long address, int nr, long rowBytes, float[] xo, int blocks, int exponent, float[] sums, float[] y, int yo) {
        float[] lanes = new float[L];
        if (L == 8) {
            for (int j = 0; j < nr; j++) y[yo + j] = Math.scalb(q5_k8(address + j * rowBytes, xo, blocks, sums, lanes), -exponent);
            return;
        }
        float[] scales = new float[8 * blocks];
        for (int j = 0; j < nr; j++) {
            long row = address + j * rowBytes;
            float mins = Q4_KRows.scalesAndMins(row, 176, blocks, sums, scales, lanes);
            q5Quants4(row, xo, blocks, scales, lanes);
            y[yo + j] = Math.scalb(laneSum(lanes, L) - mins, -exponent);
        }
    }

    /**
     * Q5_K at 256 bits, block by block (Q4_KRows.q4_k8's loop with a fifth bit per weight in qh: bit 2p for group
     * p's low nibbles, 2p+1 for its high ones). The 128-bit loop order ({@link #q5Quants4}) was not faster here in
     * bench's two-thread product (Java/ggml 2.52 and 2.43 against 2.69 and 2.22), as for Q4_K.
     */
    private static float q5_k8(long address, float[] xo, int blocks, float[] xSums, float[] lanes) {
        MemorySegment w = view(address, 176L * blocks);
        FloatVector accLo = FloatVector.zero(F), accHi = accLo, accMin = accLo;
        for (int b = 0; b < blocks; b++) {
            long o = 176L * b;
            int s0 = w.get(I32, o + 4), s1 = w.get(I32, o + 8), s2 = w.get(I32, o + 12);
            long sc = RowKernels.sixBitBytes(s0, s2);
            long mn = RowKernels.sixBitBytes(s1, s2 >>> 4);
            float d = Float.float16ToFloat(w.get(I16, o));
            for (int p = 0; p < 4; p++) {
                FloatVector lo = FloatVector.zero(F), hi = lo;
                for (int c = 0; c < 32; c += 4 * L) {
                    IntVector q = IntVector.fromMemorySegment(I, w, o + 48 + 32 * p + c, LE);
                    IntVector h = IntVector.fromMemorySegment(I, w, o + 16 + c, LE);
                    IntVector ql = q.and(0x0F0F0F0F).or(h.lanewise(VectorOperators.LSHR, 2 * p).and(0x01010101).lanewise(VectorOperators.LSHL, 4));
                    IntVector qh = q.lanewise(VectorOperators.LSHR, 4).and(0x0F0F0F0F)
                            .or(h.lanewise(VectorOperators.LSHR, 2 * p + 1).and(0x01010101).lanewise(VectorOperators.LSHL, 4));
                    int xk = 256 * b + 64 * p + c;
                    for (int j = 0; j < 4; j++) {
                        lo = ((FloatVector) ql.and(0xFF << (8 * j)).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xo, xk + j * L), lo);
                        hi = ((FloatVector) qh.and(0xFF << (8 * j)).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xo, xk + 32 + j * L), hi);
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
     * Q5_K at 128 bits, in Q4_KRows.q4Quants' loop order (the 32-weight group p outer, the block inner, so C2 drops
     * the bounds checks of x and of the scales from the block loop; a group is two 16-byte chunks, each with its own
     * two FMA chains): the fifth bits (qh bit 2p for group p's low nibbles, 2p+1 for its high nibbles) are shifted to
     * bit 4 of each byte and or-ed onto the nibbles in place; the shift count depends on p alone (p = 3 shifts
     * right). 112 instructions per group and 93 per block for the scales, against 964 per block before.
     */
    private static void q5Quants4(long address, float[] xo, int blocks, float[] scales, float[] lanes) {
        MemorySegment w = view(address, UNCUT);
        FloatVector accLo = FloatVector.zero(F), accHi = accLo;
        for (int p = 0; p < 4; p++) {
            for (int b = 0; b < blocks; b++) {
                int xk = 256 * b + 64 * p;
                long o = 176L * b;
                IntVector q = IntVector.fromMemorySegment(I, w, o + 48 + 32 * p, LE);
                IntVector h = IntVector.fromMemorySegment(I, w, o + 16, LE);
                IntVector hs = p < 3 ? h.lanewise(VectorOperators.LSHL, 4 - 2 * p) : h.lanewise(VectorOperators.LSHR, 2);
                IntVector ql = q.and(0x0F0F0F0F).or(hs.and(0x10101010));
                IntVector qh = q.lanewise(VectorOperators.LSHR, 4).and(0x0F0F0F0F).or(hs.lanewise(VectorOperators.LSHR, 1).and(0x10101010));
                FloatVector lo = ((FloatVector) ql.and(0xFF).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromArray(F, xo, xk));
                FloatVector hi = ((FloatVector) qh.and(0xFF).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromArray(F, xo, xk + 32));
                for (int j = 1; j < 4; j++) {
                    lo = ((FloatVector) ql.and(0xFF << (8 * j)).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xo, xk + j * L), lo);
                    hi = ((FloatVector) qh.and(0xFF << (8 * j)).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xo, xk + 32 + j * L), hi);
                }
                q = IntVector.fromMemorySegment(I, w, o + 64 + 32 * p, LE);
                h = IntVector.fromMemorySegment(I, w, o + 32, LE);
                hs = p < 3 ? h.lanewise(VectorOperators.LSHL, 4 - 2 * p) : h.lanewise(VectorOperators.LSHR, 2);
                ql = q.and(0x0F0F0F0F).or(hs.and(0x10101010));
                qh = q.lanewise(VectorOperators.LSHR, 4).and(0x0F0F0F0F).or(hs.lanewise(VectorOperators.LSHR, 1).and(0x10101010));
                FloatVector lo2 = ((FloatVector) ql.and(0xFF).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromArray(F, xo, xk + 16));
                FloatVector hi2 = ((FloatVector) qh.and(0xFF).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromArray(F, xo, xk + 48));
                for (int j = 1; j < 4; j++) {
                    lo2 = ((FloatVector) ql.and(0xFF << (8 * j)).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xo, xk + 16 + j * L), lo2);
                    hi2 = ((FloatVector) qh.and(0xFF << (8 * j)).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xo, xk + 48 + j * L), hi2);
                }
                accLo = lo.add(lo2).fma(FloatVector.broadcast(F, scales[8 * b + 2 * p]), accLo);
                accHi = hi.add(hi2).fma(FloatVector.broadcast(F, scales[8 * b + 2 * p + 1]), accHi);
            }
        }
        accLo.add(accHi).intoArray(lanes, 0);
    }
}
