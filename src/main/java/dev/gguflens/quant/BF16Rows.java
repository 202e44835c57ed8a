package dev.gguflens.quant;

import static dev.gguflens.quant.PackedRowKernels.F;
import static dev.gguflens.quant.PackedRowKernels.I;
import static dev.gguflens.quant.PackedRowKernels.I16;
import static dev.gguflens.quant.PackedRowKernels.L;
import static dev.gguflens.quant.PackedRowKernels.LE;
import static dev.gguflens.quant.PackedRowKernels.laneSum;
import static dev.gguflens.quant.PackedRowKernels.view;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;


/** BF16's m = 1 row kernel at 128 and 256 bits (two halves per int lane, x interleaved even/odd per 2L). */
final class BF16Rows {
    private BF16Rows() {
    }

    static RowKernels.Prepared prepare(float[] x, int cols) {
        return new RowKernels.Prepared(null, PackedRowKernels.interleave(x, cols, 2, L), 0);
    }

    static void rows(long address, int nr, long rowBytes, float[] xo, int cols, float[] y, int yo) {
        float[] lanes = new float[L];
        for (int j = 0; j < nr; j++) y[yo + j] = bf16Row(address + j * rowBytes, xo, cols, lanes);
    }

    /**
     * BF16: the upper 16 bits of a float, so a shift (even elements) or a mask (odd) makes it one. The loop runs
     * over a count of vectors with the segment offset a long multiple of that count: so C2 removes the bounds
     * checks from the loop and unrolls it (with the offset derived from an int element index, 2L * k, it kept a
     * check per load, a safepoint poll per pass and no unrolling: about 288 against 92 instructions per 256 weights).
     */
    private static float bf16Row(long address, float[] xo, int cols, float[] lanes) {
        MemorySegment w = view(address, 2L * cols);
        FloatVector a0 = FloatVector.zero(F), a1 = a0;
        int n = cols / (2 * L);
        for (int i = 0; i < n; i++) {
            int k = 2 * L * i;
            IntVector v = IntVector.fromMemorySegment(I, w, 4L * L * i, LE);
            a0 = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(FloatVector.fromArray(F, xo, k), a0);
            a1 = v.and(0xFFFF0000).reinterpretAsFloats().fma(FloatVector.fromArray(F, xo, k + L), a1);
        }
        a0.add(a1).intoArray(lanes, 0);
        float sum = laneSum(lanes, L);
        for (int k = 2 * L * n; k < cols; k++) sum = Math.fma(Float.intBitsToFloat((w.get(I16, 2L * k) & 0xFFFF) << 16), xo[k], sum);
        return sum;
    }
}
