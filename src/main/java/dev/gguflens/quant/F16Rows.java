package dev.gguflens.quant;

import static dev.gguflens.quant.PackedRowKernels.I16;
import static dev.gguflens.quant.PackedRowKernels.LE;
import static dev.gguflens.quant.PackedRowKernels.UNCUT;
import static dev.gguflens.quant.PackedRowKernels.laneSum;
import static dev.gguflens.quant.PackedRowKernels.view;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;


/**
 * F16's m = 1 row kernel, at 128, 256 and 512 bits.
 */
final class F16Rows {
    private F16Rows() {
    }

    /**
     * F16's own species, the machine's full width up to 512 bits, where the other packed kernels stop at 256: on an
     * AVX-512 Xeon (Emerald Rapids, 2 vCPUs; 151936 x 4096, two threads, alternating processes) this loop at 512 bits
     * took 79-88 ms against 90-101 at 256 bits and 92-97 for the 512-bit widening loop it replaced (Java/ggml
     * 1.25-1.32 against 1.46-1.50).
     */
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 512 ? FloatVector.SPECIES_512
            : FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 256 ? FloatVector.SPECIES_256 : FloatVector.SPECIES_128;
    static final int L = F.length();
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, VectorShape.forBitSize(L * 32));

    /**
     * The power of two by which a half's bits, moved into float position, fall short of its value: the exponent
     * biases differ by 127 - 15 = 112. The shifted bits read as a float are exactly the half times 2^-112, subnormal
     * halves included (they become subnormal floats of the same mantissa), so x carries the 2^112 instead.
     */
    private static final int BIAS_GAP = 127 - 15;
    /** Both halves' exponent fields of an int lane. */
    private static final int EXPONENTS = 0x7C007C00;
    /**
     * Added to the exponent fields, it carries into bit 15 (31) exactly when a half's exponent is all ones, an infinity
     * or NaN: the one case the shift does not widen (it would read as a finite float).
     */
    private static final int EXPONENT_ONE = 0x04000400;
    /** Bits 15 and 31, where those carries land. */
    private static final int CARRIES = 0x80008000;
    /** A half's sign and its 15 magnitude bits, once moved to float position by an arithmetic shift right of 3. */
    private static final int SIGN_AND_MAGNITUDE = 0x8FFFE000;
    /** {@link RowKernels.Prepared#exponent} where x holds an infinity or NaN: every row takes the exact loop. */
    private static final int X_NOT_FINITE = Integer.MIN_VALUE;

    /**
     * x interleaved (even elements, then odd, per 2L: the low and high halves of the int lanes) and scaled by
     * 2^(e + 112), where 2^e puts its largest magnitude in [1, 2) as for the sub-byte types: then no scaled element
     * overflows, and the products, exact multiples of the true ones by 2^e, are neither subnormal nor infinite where
     * the plain product's are not (up to terms 2^-100 below the largest). Where x holds an infinity or NaN it is
     * interleaved unscaled and the exponent is {@link #X_NOT_FINITE}.
     */
    static RowKernels.Prepared prepare(float[] x, int cols) {
        boolean finite = true;
        for (int k = 0; k < cols; k++) finite &= Float.isFinite(x[k]);
        if (!finite) return new RowKernels.Prepared(null, PackedRowKernels.interleave(x, cols, 2, L), X_NOT_FINITE);
        int exponent = PackedRowKernels.normalisingExponent(x, cols);
        float[] xs = new float[cols];
        for (int k = 0; k < cols; k++) xs[k] = Math.scalb(x[k], exponent + BIAS_GAP);
        return new RowKernels.Prepared(null, PackedRowKernels.interleave(xs, cols, 2, L), exponent);
    }

    static void rows(long address, int nr, long rowBytes, float[] xo, int cols, int exponent, float[] y, int yo) {
        float[] lanes = new float[L];
        for (int j = 0; j < nr; j++) {
            long row = address + j * rowBytes;
            float sum = exponent == X_NOT_FINITE ? Float.NaN : shiftedRow(row, xo, cols, lanes);
            y[yo + j] = Float.isNaN(sum) ? inColumnOrder(row, xo, cols, exponent) : Math.scalb(sum, -exponent);
        }
    }

    /**
     * A row times the scaled x, each half widened by moving its bits into float position: even elements (the low
     * halves) shifted left 16 and arithmetically right 3, odd ones (the high halves) right 3, both masked to sign and
     * magnitude: 6 integer operations per 2L halves and a 3-operation test for infinities and NaNs, where the widening
     * this replaced (magnitude, times 2^112, blend for infinities, sign) took 36 instructions per 16 halves at 256 bits
     * and the 128-bit path copied and converted 256 halves at a time through L1. Two int vectors per pass into four
     * FMA chains. The 151936 x 4096 product on two AVX2 threads, alternating with ggml's in one lab process (median of
     * 9): 256 bits 56.6-60 ms against 62-77 ms before, ggml 46-49; 128 bits 69 against 85 ms; rows in L2 20 against 32
     * ns per 256 weights; bench's Java/ggml at 256 bits 1.20-1.21 against 1.52-1.97 before. Returns NaN where the row
     * holds an infinity or NaN (no product of finite halves and the scaled x is NaN or infinite).
     */
    static float shiftedRow(long address, float[] xo, int cols, float[] lanes) {
        MemorySegment w = view(address, UNCUT);
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        IntVector carries = IntVector.zero(I);
        int k = 0;
        for (; k + 4 * L <= cols; k += 4 * L) {
            IntVector v = IntVector.fromMemorySegment(I, w, 2L * k, LE);
            IntVector u = IntVector.fromMemorySegment(I, w, 2L * k + 4 * L, LE);
            carries = carries.or(v.and(EXPONENTS).add(EXPONENT_ONE)).or(u.and(EXPONENTS).add(EXPONENT_ONE));
            a0 = v.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(SIGN_AND_MAGNITUDE)
                    .reinterpretAsFloats().fma(FloatVector.fromArray(F, xo, k), a0);
            a1 = v.lanewise(VectorOperators.ASHR, 3).and(SIGN_AND_MAGNITUDE)
                    .reinterpretAsFloats().fma(FloatVector.fromArray(F, xo, k + L), a1);
            a2 = u.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(SIGN_AND_MAGNITUDE)
                    .reinterpretAsFloats().fma(FloatVector.fromArray(F, xo, k + 2 * L), a2);
            a3 = u.lanewise(VectorOperators.ASHR, 3).and(SIGN_AND_MAGNITUDE)
                    .reinterpretAsFloats().fma(FloatVector.fromArray(F, xo, k + 3 * L), a3);
        }
        if (k + 2 * L <= cols) {
            IntVector v = IntVector.fromMemorySegment(I, w, 2L * k, LE);
            carries = carries.or(v.and(EXPONENTS).add(EXPONENT_ONE));
            a0 = v.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 3).and(SIGN_AND_MAGNITUDE)
                    .reinterpretAsFloats().fma(FloatVector.fromArray(F, xo, k), a0);
            a1 = v.lanewise(VectorOperators.ASHR, 3).and(SIGN_AND_MAGNITUDE)
                    .reinterpretAsFloats().fma(FloatVector.fromArray(F, xo, k + L), a1);
            k += 2 * L;
        }
        a0.add(a2).add(a1.add(a3)).intoArray(lanes, 0);
        float sum = laneSum(lanes, L);
        int tailCarries = 0;
        for (; k < cols; k++) {
            int half = w.get(I16, 2L * k) & 0xFFFF;
            tailCarries |= (half & EXPONENTS) + EXPONENT_ONE;
            sum = Math.fma(Float.intBitsToFloat((half << 16 >> 3) & SIGN_AND_MAGNITUDE), xo[k], sum);
        }
        boolean special = ((carries.reduceLanes(VectorOperators.OR) | tailCarries) & CARRIES) != 0;
        return special ? Float.NaN : sum;
    }

    /**
     * A row that holds an infinity or NaN, or an x that does, in column order with Float.float16ToFloat and x
     * recovered from the prepared form: the result is an infinity or NaN whatever the order, and this loop gets
     * which one right where the shifted widening cannot. Rare, so scalar.
     */
    private static float inColumnOrder(long address, float[] xo, int cols, int exponent) {
        MemorySegment w = view(address, 2L * cols);
        int unscale = exponent == X_NOT_FINITE ? 0 : -(exponent + BIAS_GAP);
        float sum = 0;
        for (int k = 0; k < cols; k++) {
            float xk = Math.scalb(xo[PackedRowKernels.interleavedIndex(k, cols, 2, L)], unscale);
            sum = Math.fma(Float.float16ToFloat(w.get(I16, 2L * k)), xk, sum);
        }
        return sum;
    }
}
