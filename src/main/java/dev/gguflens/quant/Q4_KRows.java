package dev.gguflens.quant;

import static dev.gguflens.quant.PackedRowKernels.F;
import static dev.gguflens.quant.PackedRowKernels.I;
import static dev.gguflens.quant.PackedRowKernels.I32;
import static dev.gguflens.quant.PackedRowKernels.L;
import static dev.gguflens.quant.PackedRowKernels.LE;
import static dev.gguflens.quant.PackedRowKernels.f16;
import static dev.gguflens.quant.PackedRowKernels.laneSum;
import static dev.gguflens.quant.PackedRowKernels.view;

import dev.gguflens.gguf.GgmlType;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q4_K's m = 1 row kernel (super-blocks of 256 four-bit weights, 8 six-bit scales and mins): the packed int-lane
 * layout of {@link PackedRowKernels} with its masked nibble extraction.
 */
final class Q4_KRows {
    private Q4_KRows() {
    }

    static RowKernels.Prepared prepare(float[] x, int cols) {
        return PackedRowKernels.prepareMasked(GgmlType.Q4_K, x, cols, L);
    }

    static void rows(long address, int nr, long rowBytes, float[] xo, int blocks, int exponent, float[] sums, float[] y, int yo) {
        float[] lanes = new float[L];
        for (int j = 0; j < nr; j++) y[yo + j] = Math.scalb(q4_k(address + j * rowBytes, xo, blocks, sums, lanes), -exponent);
    }

    /** Q4_K: the 8 six-bit scales and mins as in get_scale_min_k4, one per byte of sc and mn. */
    private static float q4_k(long address, float[] xo, int blocks, float[] xSums, float[] lanes) {
        MemorySegment w = view(address, 144L * blocks);
        FloatVector accLo = FloatVector.zero(F), accHi = accLo, accMin = accLo;
        float mins = 0;
        for (int b = 0; b < blocks; b++) {
            long o = 144L * b;
            int s0 = w.get(I32, o + 4), s1 = w.get(I32, o + 8), s2 = w.get(I32, o + 12);
            long sc = RowKernels.sixBitBytes(s0, s2);
            long mn = RowKernels.sixBitBytes(s1, s2 >>> 4);
            float d = f16(w, o);
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
            if (L == 8) {
                // The 8 mins as floats times the 8 sub-block sums of x, lane-wise.
                ByteVector m = IntVector.zero(IntVector.SPECIES_64).withLane(0, (int) mn).withLane(1, (int) (mn >>> 32)).reinterpretAsBytes();
                accMin = ((FloatVector) m.convertShape(VectorOperators.B2F, F, 0)).mul(FloatVector.fromArray(F, xSums, 8 * b))
                        .fma(FloatVector.broadcast(F, f16(w, o + 2)), accMin);
            }
            else mins = Math.fma(f16(w, o + 2), minTerm(mn, xSums, 8 * b), mins);
        }
        accLo.add(accHi).sub(accMin).intoArray(lanes, 0);
        return laneSum(lanes, L) - mins;
    }

    /** sum_j m_j * (sum of x over sub-block j) for the 8 mins packed one per byte in mn (Q4_K and Q5_K). */
    static float minTerm(long mn, float[] xSums, int s) {
        float t = 0;
        for (int j = 0; j < 8; j++) t = Math.fma((int) (mn >>> (8 * j)) & 0xFF, xSums[s + j], t);
        return t;
    }
}
