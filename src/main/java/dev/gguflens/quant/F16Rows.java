package dev.gguflens.quant;

import static dev.gguflens.quant.PackedRowKernels.F;
import static dev.gguflens.quant.PackedRowKernels.I;
import static dev.gguflens.quant.PackedRowKernels.I16;
import static dev.gguflens.quant.PackedRowKernels.L;
import static dev.gguflens.quant.PackedRowKernels.LE;
import static dev.gguflens.quant.PackedRowKernels.f16;
import static dev.gguflens.quant.PackedRowKernels.laneSum;
import static dev.gguflens.quant.PackedRowKernels.view;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;


/**
 * F16's m = 1 row kernels: {@link #rows} at 128 and 256 bits (each width its own widening, see below), {@link
 * #wideRows} at 512 bits.
 */
final class F16Rows {
    private F16Rows() {
    }

    /**
     * A half's magnitude bits (0x7C00 for an infinity, above it NaNs) in float position (bits 13-27). The kernel asks
     * m > INFINITE_MAGNITUDE - 1 rather than m >= INFINITE_MAGNITUDE: AVX2 compares only for greater-than, and C2
     * built the other as a compare, an all-ones constant and a NOT (two instructions more per 8 weights).
     */
    private static final int INFINITE_MAGNITUDE = 0x7C00 << 13;
    /**
     * The size of {@link #f16Row8}'s view of a row: beyond any offset it computes (2L * k + 32 for an int k stays far
     * below 2^62), so C2 proves the bounds check of every load true from the types alone; with the row's length it
     * kept one per 16 weights. The reads stay within the row because the loop runs over its columns.
     */
    private static final long UNCUT = Long.MAX_VALUE >> 1;

    /** At 256 bits x is interleaved (even elements, then odd, per 2L); at 128 bits it is read as it is. */
    static RowKernels.Prepared prepare(float[] x, int cols) {
        return new RowKernels.Prepared(null, L == 8 ? PackedRowKernels.interleave(x, cols, 2, L) : x, 0);
    }

    static void rows(long address, int nr, long rowBytes, float[] x, int cols, float[] y, int yo) {
        float[] lanes = new float[L];
        if (L == 8) {
            for (int j = 0; j < nr; j++) y[yo + j] = f16Row8(address + j * rowBytes, x, cols, lanes);
            return;
        }
        short[] halves = new short[F16_CHUNK];
        float[] wide = new float[F16_CHUNK];
        for (int j = 0; j < nr; j++) y[yo + j] = widened(address + j * rowBytes, x, cols, halves, wide, lanes);
    }

    /**
     * F16 at 256 bits: two halves per int lane, widened in registers with exact integer operations: the
     * magnitude bits shifted into float position and scaled by 2^112 (exponent bias 15 to 127, which also
     * normalises subnormal halves exactly), infinities and NaNs given the float's all-ones exponent instead, the
     * sign bit copied. x is interleaved as for BF16 (even elements, then odd, per 16). Widening through an L1
     * array with {@link Float#float16ToFloat} instead (the 128-bit path) was 1.6x slower here with rows in L2
     * and 1.2x slower streaming them (bench at Qwen3-8B's shape: Java/ggml 1.90 against 1.53 with this code).
     * Written as a counted loop over vectors (as BF16Rows), C2 unrolled it but spilled to the stack (about 50
     * instead of 46 instructions per 16 weights), so the loop stays as it is. The infinity test as a greater-than
     * and the uncut view took the loop in bench's compile from 46 to 36 instructions per 16 weights (736 to 576 per
     * 256): the freed registers also keep the mask and scale constants, which C2 had reloaded at each use.
     */
    private static float f16Row8(long address, float[] xo, int cols, float[] lanes) {
        MemorySegment w = view(address, UNCUT);
        FloatVector a0 = FloatVector.zero(F), a1 = a0;
        int k = 0;
        for (; k + 2 * L <= cols; k += 2 * L) {
            IntVector v = IntVector.fromMemorySegment(I, w, 2L * k, LE);
            // Even elements: the low halves; odd: the high halves. The magnitude bits go to bits 13-27.
            IntVector m0 = v.lanewise(VectorOperators.LSHL, 13).and(0x7FFF << 13);
            IntVector m1 = v.lanewise(VectorOperators.LSHR, 3).and(0x7FFF << 13);
            IntVector f0 = ((FloatVector) m0.reinterpretAsFloats()).mul(0x1p112f).reinterpretAsInts()
                    .blend(m0.add(0x70000000), m0.compare(VectorOperators.GT, INFINITE_MAGNITUDE - 1))
                    .or(v.lanewise(VectorOperators.LSHL, 16).and(0x80000000));
            IntVector f1 = ((FloatVector) m1.reinterpretAsFloats()).mul(0x1p112f).reinterpretAsInts()
                    .blend(m1.add(0x70000000), m1.compare(VectorOperators.GT, INFINITE_MAGNITUDE - 1))
                    .or(v.and(0x80000000));
            a0 = f0.reinterpretAsFloats().fma(FloatVector.fromArray(F, xo, k), a0);
            a1 = f1.reinterpretAsFloats().fma(FloatVector.fromArray(F, xo, k + L), a1);
        }
        a0.add(a1).intoArray(lanes, 0);
        float sum = laneSum(lanes, L);
        for (; k < cols; k++) sum = Math.fma(f16(w, 2L * k), xo[k], sum);
        return sum;
    }

    /**
     * F16 at 128 bits: F16_CHUNK halves at a time copied into a short array (one bulk copy: a loop reading the
     * segment itself is vectorised only when C2 manages to hoist the segment's bounds check, which it does not in
     * every compilation) and widened into an L1-resident float array by a plain loop over
     * {@link Float#float16ToFloat}, which C2 vectorises into the CPU's own conversion (vcvtph2ps: 8 halves per
     * instruction at 256 bits, 4 at 128; exact, infinities and NaNs included), then four FMA chains over the chunk,
     * carried from chunk to chunk and folded once per row. Both loops have a constant trip count, so C2 unrolls
     * them and drops their bounds checks (the loop it replaced had neither constant trip count nor unrolling).
     * At 256 bits this path is about 350 instructions per 256 weights against 736 for {@link #f16Row8} then
     * (576 now), yet was slower with one thread and rows in L2 (79 against 54-87 ns per 256 weights, load 7; the
     * last session measured its predecessor 1.6x slower there too), so 256 bits keeps f16Row8 until a quiet
     * 2-thread bench decides. The tail (cols not a multiple of F16_CHUNK) runs in scalar code.
     */
    private static float widened(long address, float[] x, int cols, short[] halves, float[] wide, float[] lanes) {
        MemorySegment w = view(address, 2L * cols);
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        int k = 0;
        for (; k + F16_CHUNK <= cols; k += F16_CHUNK) {
            MemorySegment.copy(w, I16, 2L * k, halves, 0, F16_CHUNK);
            for (int i = 0; i < F16_CHUNK; i++) wide[i] = Float.float16ToFloat(halves[i]);
            for (int i = 0; i < F16_CHUNK; i += 4 * L) {
                a0 = FloatVector.fromArray(F, wide, i).fma(FloatVector.fromArray(F, x, k + i), a0);
                a1 = FloatVector.fromArray(F, wide, i + L).fma(FloatVector.fromArray(F, x, k + i + L), a1);
                a2 = FloatVector.fromArray(F, wide, i + 2 * L).fma(FloatVector.fromArray(F, x, k + i + 2 * L), a2);
                a3 = FloatVector.fromArray(F, wide, i + 3 * L).fma(FloatVector.fromArray(F, x, k + i + 3 * L), a3);
            }
        }
        a0.add(a1).add(a2.add(a3)).intoArray(lanes, 0);
        float sum = laneSum(lanes, L);
        for (; k < cols; k++) sum = Math.fma(f16(w, 2L * k), x[k], sum);
        return sum;
    }

    /** Halves widened per pass: 1 KiB of floats, which stays in L1 beside x. */
    private static final int F16_CHUNK = 256;

    // 512 bits (RowKernels.WIDE): L halves widened to L int lanes.
    private static final VectorSpecies<Float> FW = FloatVector.SPECIES_PREFERRED.length() >= 16
            ? FloatVector.SPECIES_512 : FloatVector.SPECIES_256;
    private static final int LW = FW.length();
    private static final VectorSpecies<Integer> IW = VectorSpecies.of(int.class, VectorShape.forBitSize(LW * 32));
    private static final VectorSpecies<Short> SW = VectorSpecies.of(short.class, VectorShape.forBitSize(LW * 16));

    static void wideRows(long address, int nr, long rowBytes, float[] x, int cols, float[] y, int yo) {
        for (int j = 0; j < nr; j++) y[yo + j] = wideRow(address + j * rowBytes, x, cols);
    }

    /**
     * An F16 row times x, the halves widened to floats in registers with integer operations (exact): the
     * magnitude bits shifted into float position and scaled by 2^112 (exponent bias 15 to 127; this also
     * normalises subnormal halves exactly), infinities and NaNs given the float's all-ones exponent instead,
     * and the sign bit copied. Two FMA chains (the conversion, not FMA latency, is the limit; four chains
     * ran past C2's inlining node budget); the tail (cols not a multiple of 2L) in scalar code.
     */
    private static float wideRow(long address, float[] x, int cols) {
        MemorySegment w = view(address, 2L * cols);
        FloatVector a0 = FloatVector.zero(FW), a1 = a0;
        int k = 0;
        for (; k + 2 * LW <= cols; k += 2 * LW) {
            a0 = halves(w, k).fma(FloatVector.fromArray(FW, x, k), a0);
            a1 = halves(w, k + LW).fma(FloatVector.fromArray(FW, x, k + LW), a1);
        }
        float sum = FloatLanes.sum(a0.add(a1));
        for (; k < cols; k++) sum = Math.fma(f16(w, 2L * k), x[k], sum);
        return sum;
    }

    /** LW halves at element k of w, as floats (see {@link #wideRow}). */
    private static FloatVector halves(MemorySegment w, int k) {
        IntVector h = (IntVector) ShortVector.fromMemorySegment(SW, w, 2L * k, LE).convertShape(VectorOperators.S2I, IW, 0);
        IntVector magnitude = h.and(0x7FFF).lanewise(VectorOperators.LSHL, 13);
        IntVector scaled = ((FloatVector) magnitude.reinterpretAsFloats()).mul(0x1p112f).reinterpretAsInts();
        IntVector special = magnitude.add(0x70000000);
        IntVector bits = scaled.blend(special, magnitude.compare(VectorOperators.GE, 0x7C00 << 13))
                .or(h.and(0x80000000));
        return bits.reinterpretAsFloats();
    }
}
