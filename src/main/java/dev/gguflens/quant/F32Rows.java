package dev.gguflens.quant;

import static dev.gguflens.quant.PackedRowKernels.F;
import static dev.gguflens.quant.PackedRowKernels.I;
import static dev.gguflens.quant.PackedRowKernels.I16;
import static dev.gguflens.quant.PackedRowKernels.L;
import static dev.gguflens.quant.PackedRowKernels.LE;
import static dev.gguflens.quant.PackedRowKernels.laneSum;
import static dev.gguflens.quant.PackedRowKernels.view;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;


/** F32's m = 1 row kernel at 128 and 256 bits (x as it is). */
final class F32Rows {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE);

    private F32Rows() {
    }

    static RowKernels.Prepared prepare(float[] x, int cols) {
        return new RowKernels.Prepared(null, x, 0);
    }

    static void rows(long address, int nr, long rowBytes, float[] x, int cols, float[] y, int yo) {
        float[] lanes = new float[L];
        for (int j = 0; j < nr; j++) y[yo + j] = f32Row(address + j * rowBytes, x, cols, lanes);
    }

    /**
     * F32: four FMA chains (one would wait on the FMA latency), then a scalar tail. The loop runs over a count of
     * 4L-element groups with the segment offset a long multiple of that count, so C2 removes the bounds checks
     * from the loop and unrolls it (see BF16Rows).
     */
    private static float f32Row(long address, float[] x, int cols, float[] lanes) {
        MemorySegment w = view(address, 4L * cols);
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        int n = cols / (4 * L);
        for (int i = 0; i < n; i++) {
            int k = 4 * L * i;
            long o = 16L * L * i;
            a0 = FloatVector.fromMemorySegment(F, w, o, LE).fma(FloatVector.fromArray(F, x, k), a0);
            a1 = FloatVector.fromMemorySegment(F, w, o + 4 * L, LE).fma(FloatVector.fromArray(F, x, k + L), a1);
            a2 = FloatVector.fromMemorySegment(F, w, o + 8 * L, LE).fma(FloatVector.fromArray(F, x, k + 2 * L), a2);
            a3 = FloatVector.fromMemorySegment(F, w, o + 12 * L, LE).fma(FloatVector.fromArray(F, x, k + 3 * L), a3);
        }
        a0.add(a1).add(a2.add(a3)).intoArray(lanes, 0);
        float sum = laneSum(lanes, L);
        for (int k = 4 * L * n; k < cols; k++) sum = Math.fma(w.get(F32, 4L * k), x[k], sum);
        return sum;
    }
}
