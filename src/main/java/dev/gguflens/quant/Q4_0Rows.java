package dev.gguflens.quant;

import static dev.gguflens.quant.PackedRowKernels.F;
import static dev.gguflens.quant.PackedRowKernels.I;
import static dev.gguflens.quant.PackedRowKernels.L;
import static dev.gguflens.quant.PackedRowKernels.LE;
import static dev.gguflens.quant.PackedRowKernels.f16;
import static dev.gguflens.quant.PackedRowKernels.laneSum;
import static dev.gguflens.quant.PackedRowKernels.view;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;


/**
 * Q4_0's m = 1 row kernel (blocks of 32 four-bit weights and one F16 scale): the packed int-lane layout of
 * {@link PackedRowKernels} with the masked nibble extraction of its 4-bit types.
 */
final class Q4_0Rows {
    /** Q4_0's 16 quant bytes fill exactly one 128-bit vector, so it runs at 128 bits on every machine. */
    private static final VectorSpecies<Float> F4 = FloatVector.SPECIES_128;
    private static final VectorSpecies<Integer> I4 = IntVector.SPECIES_128;

    private Q4_0Rows() {
    }

    static RowKernels.Prepared prepare(float[] x, int cols) {
        return PackedRowKernels.prepareMasked(dev.gguflens.gguf.GgmlType.Q4_0, x, cols, F4.length());
    }

    static void rows(long address, int nr, long rowBytes, float[] xo, int blocks, int exponent, float[] sums, float[] y, int yo) {
        float[] lanes = new float[L];
        for (int j = 0; j < nr; j++) y[yo + j] = Math.scalb(q4_0(address + j * rowBytes, xo, blocks, sums, lanes), -exponent);
    }

    /** Q4_0 at 128 bits (its 16 quant bytes are one such vector): w = d*(q-8), summed as d*sum(q*x) - 8*d*sum(x). */
    private static float q4_0(long address, float[] xo, int blocks, float[] xSums, float[] lanes) {
        MemorySegment w = view(address, 18L * blocks);
        FloatVector acc = FloatVector.zero(F4);
        int l4 = F4.length();
        float offsets = 0;
        for (int b = 0; b < blocks; b++) {
            long o = 18L * b;
            IntVector q = IntVector.fromMemorySegment(I4, w, o + 2, LE), q4 = q.lanewise(VectorOperators.LSHR, 4);
            int xk = 32 * b;
            FloatVector qx = FloatVector.zero(F4);
            for (int j = 0; j < 4; j++) {
                IntVector nl = q.and(0xF << (8 * j));
                IntVector nh = q4.and(0xF << (8 * j));
                qx = ((FloatVector) nl.convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F4, xo, xk + j * l4), qx);
                qx = ((FloatVector) nh.convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F4, xo, xk + 16 + j * l4), qx);
            }
            float d = f16(w, o);
            acc = qx.fma(FloatVector.broadcast(F4, d), acc);
            offsets = Math.fma(d, xSums[b], offsets);
        }
        acc.intoArray(lanes, 0);
        return laneSum(lanes, l4) - 8 * offsets;
    }
}
