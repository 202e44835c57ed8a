package dev.gguflens.quant;

import dev.gguflens.gguf.GgmlType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Single-vector dot products of one quantised row with x, decoding straight from the weight segment
 * into vector registers (no scratch array). The block and sub-block scales multiply partial sums of
 * q*x instead of every element, which is where these kernels differ from dequantise-then-dot: the
 * weights are still exact, only the summation order (and rounding) of the product changes.
 * Used for m = 1, where the product is bound by reading the weights once.
 */
final class RowKernels {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED.length() >= 16
            ? FloatVector.SPECIES_512 : FloatVector.SPECIES_256;
    static final int L = F.length();
    /** L bytes: one load converts into one float vector. */
    private static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(L * 8));
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);

    private RowKernels() {
    }

    /** Types with a kernel here (when SIMD is enabled at all). */
    static boolean handles(GgmlType t) {
        return VectorDecoder.ENABLED && switch (t) {
            case Q8_0, Q4_K, Q6_K -> true;
            default -> false;
        };
    }

    /** Per-call state derived from x (sub-block sums for the min terms of Q4_K). */
    static float[] prepare(GgmlType t, float[] x, int cols) {
        if (t != GgmlType.Q4_K) return null;
        float[] sums = new float[cols / 32];
        for (int s = 0; s < sums.length; s++) {
            FloatVector acc = FloatVector.fromArray(F, x, 32 * s);
            for (int l = L; l < 32; l += L) acc = acc.add(FloatVector.fromArray(F, x, 32 * s + l));
            sums[s] = FloatLanes.sum(acc);
        }
        return sums;
    }

    /** sum_k x[k] * W[row][k] for the row starting at byte {@code off}. */
    static float dot(GgmlType t, MemorySegment w, long off, float[] x, int cols, float[] prepared) {
        return switch (t) {
            case Q8_0 -> q8_0(w, off, x, cols / 32);
            case Q4_K -> q4_k(w, off, x, cols / 256, prepared);
            case Q6_K -> q6_k(w, off, x, cols / 256);
            default -> throw new IllegalArgumentException("no row kernel for " + t);
        };
    }

    private static float f16(MemorySegment w, long off) {
        return Float.float16ToFloat(w.get(I16, off));
    }

    private static FloatVector bytesAsFloats(MemorySegment w, long off) {
        return (FloatVector) ByteVector.fromMemorySegment(B, w, off, LE).convertShape(VectorOperators.B2F, F, 0);
    }

    private static FloatVector bc(float v) {
        return FloatVector.broadcast(F, v);
    }

    private static FloatVector toFloat(ByteVector v) {
        return (FloatVector) v.convertShape(VectorOperators.B2F, F, 0);
    }

    private static float q8_0(MemorySegment w, long off, float[] x, int blocks) {
        // Two accumulators (even and odd blocks) so consecutive blocks do not wait on one FMA chain.
        FloatVector even = FloatVector.zero(F), odd = even;
        int b = 0;
        for (; b + 2 <= blocks; b += 2) {
            long o = off + 34L * b;
            even = q8_0Block(w, o, x, 32 * b).fma(bc(f16(w, o)), even);
            odd = q8_0Block(w, o + 34, x, 32 * b + 32).fma(bc(f16(w, o + 34)), odd);
        }
        if (b < blocks) even = q8_0Block(w, off + 34L * b, x, 32 * b).fma(bc(f16(w, off + 34L * b)), even);
        return FloatLanes.sum(even.add(odd));
    }

    /** sum of q*x over one Q8_0 block, lane-wise (the block scale is applied by the caller). */
    private static FloatVector q8_0Block(MemorySegment w, long o, float[] x, int k) {
        FloatVector p = bytesAsFloats(w, o + 2).mul(FloatVector.fromArray(F, x, k));
        for (int j = L; j < 32; j += L) p = bytesAsFloats(w, o + 2 + j).fma(FloatVector.fromArray(F, x, k + j), p);
        return p;
    }

    private static float q4_k(MemorySegment w, long off, float[] x, int blocks, float[] xSums) {
        FloatVector accLo = FloatVector.zero(F), accHi = accLo;
        float mins = 0;
        for (int b = 0; b < blocks; b++) {
            long o = off + 144L * b;
            float d = f16(w, o), dmin = f16(w, o + 2);
            int k = 256 * b;
            for (int p = 0; p < 4; p++) {
                int sm1 = scaleMinK4(w, o + 4, 2 * p);
                int sm2 = scaleMinK4(w, o + 4, 2 * p + 1);
                long q = o + 16 + 32 * p;
                int xk = k + 64 * p;
                ByteVector bytes = ByteVector.fromMemorySegment(B, w, q, LE);
                FloatVector lo = toFloat(bytes.and((byte) 0x0F)).mul(FloatVector.fromArray(F, x, xk));
                FloatVector hi = toFloat(bytes.lanewise(VectorOperators.LSHR, 4)).mul(FloatVector.fromArray(F, x, xk + 32));
                for (int l = L; l < 32; l += L) {
                    bytes = ByteVector.fromMemorySegment(B, w, q + l, LE);
                    lo = toFloat(bytes.and((byte) 0x0F)).fma(FloatVector.fromArray(F, x, xk + l), lo);
                    hi = toFloat(bytes.lanewise(VectorOperators.LSHR, 4)).fma(FloatVector.fromArray(F, x, xk + 32 + l), hi);
                }
                // w = d*sc*q - dmin*m, so the sub-block contributes d*sc*sum(q*x) - dmin*m*sum(x).
                accLo = lo.fma(bc(d * (sm1 & 0xFF)), accLo);
                accHi = hi.fma(bc(d * (sm2 & 0xFF)), accHi);
                int s = k / 32 + 2 * p;
                mins += dmin * (sm1 >> 8) * xSums[s] + dmin * (sm2 >> 8) * xSums[s + 1];
            }
        }
        return FloatLanes.sum(accLo.add(accHi)) - mins;
    }

    private static int u8(MemorySegment w, long off) {
        return w.get(ValueLayout.JAVA_BYTE, off) & 0xFF;
    }

    /** {@link BlockDecoder#scaleMinK4} reading the 12 packed scale bytes at {@code q} of the segment. */
    private static int scaleMinK4(MemorySegment w, long q, int j) {
        int sc, m;
        if (j < 4) {
            sc = u8(w, q + j) & 63;
            m = u8(w, q + j + 4) & 63;
        } else {
            sc = (u8(w, q + j + 4) & 0xF) | ((u8(w, q + j - 4) >> 6) << 4);
            m = (u8(w, q + j + 4) >> 4) | ((u8(w, q + j) >> 6) << 4);
        }
        return sc | (m << 8);
    }

    private static float q6_k(MemorySegment w, long off, float[] x, int blocks) {
        // Four lane-wise accumulators (one FMA chain per quarter of a half block), kept in a small array
        // between calls: one half block per call keeps each compiled method under C2's node budget,
        // so every Vector API call is intrinsified instead of boxed.
        float[] acc = new float[4 * L];
        for (int b = 0; b < blocks; b++) {
            long o = off + 210L * b;
            float d = f16(w, o + 208);
            q6Half(w, o, 0, d, x, 256 * b, acc);
            q6Half(w, o, 1, d, x, 256 * b + 128, acc);
        }
        FloatVector sum = FloatVector.fromArray(F, acc, 0);
        for (int i = 1; i < 4; i++) sum = sum.add(FloatVector.fromArray(F, acc, i * L));
        return FloatLanes.sum(sum);
    }

    /** Half block h (0 or 1) of the Q6_K block at byte {@code o}, against x[xk .. xk+128). */
    private static void q6Half(MemorySegment w, long o, int h, float d, float[] x, int xk, float[] acc) {
        long ql = o + 64 * h;
        long qh = o + 128 + 32 * h;
        long sc = o + 192 + 8 * h;
        FloatVector a1 = FloatVector.fromArray(F, acc, 0), a2 = FloatVector.fromArray(F, acc, L);
        FloatVector a3 = FloatVector.fromArray(F, acc, 2 * L), a4 = FloatVector.fromArray(F, acc, 3 * L);
        for (int l = 0; l < 32; l += L) {
            int is = l / 16;
            ByteVector a = ByteVector.fromMemorySegment(B, w, ql + l, LE);
            ByteVector c = ByteVector.fromMemorySegment(B, w, ql + l + 32, LE);
            ByteVector hb = ByteVector.fromMemorySegment(B, w, qh + l, LE);
            // 6-bit q = low nibble | two high bits << 4, stored with an offset of 32 (removed in float lanes:
            // a byte-lane subtraction here made C2 generate much slower code).
            ByteVector q1 = a.and((byte) 0x0F).or(hb.lanewise(VectorOperators.LSHL, 4).and((byte) 0x30));
            ByteVector q2 = c.and((byte) 0x0F).or(hb.lanewise(VectorOperators.LSHL, 2).and((byte) 0x30));
            ByteVector q3 = a.lanewise(VectorOperators.LSHR, 4).or(hb.and((byte) 0x30));
            ByteVector q4 = c.lanewise(VectorOperators.LSHR, 4).or(hb.lanewise(VectorOperators.LSHR, 2).and((byte) 0x30));
            // Each L-lane chunk (L <= 16) lies in one 16-element sub-block with one int8 scale.
            a1 = toFloat(q1).sub(32f).mul(FloatVector.fromArray(F, x, xk + l)).fma(bc(d * w.get(ValueLayout.JAVA_BYTE, sc + is)), a1);
            a2 = toFloat(q2).sub(32f).mul(FloatVector.fromArray(F, x, xk + l + 32)).fma(bc(d * w.get(ValueLayout.JAVA_BYTE, sc + is + 2)), a2);
            a3 = toFloat(q3).sub(32f).mul(FloatVector.fromArray(F, x, xk + l + 64)).fma(bc(d * w.get(ValueLayout.JAVA_BYTE, sc + is + 4)), a3);
            a4 = toFloat(q4).sub(32f).mul(FloatVector.fromArray(F, x, xk + l + 96)).fma(bc(d * w.get(ValueLayout.JAVA_BYTE, sc + is + 6)), a4);
        }
        a1.intoArray(acc, 0);
        a2.intoArray(acc, L);
        a3.intoArray(acc, 2 * L);
        a4.intoArray(acc, 3 * L);
    }
}
