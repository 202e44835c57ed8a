package dev.gguflens.quant;

import dev.gguflens.gguf.GgmlType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * SIMD decoders for the hot types (F16, BF16, Q8_0, Q4_K, Q6_K). Every lane performs exactly the scalar
 * decoder's float operations in the same order (int->float conversions are exact), so the results are
 * bit-identical to {@link BlockDecoder}'s scalar code; only the speed differs.
 */
final class VectorDecoder {
    /** 16 float lanes where the CPU has 512-bit vectors, else 8; never wider than the hardware. */
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED.length() >= 16
            ? FloatVector.SPECIES_512 : FloatVector.SPECIES_256;
    static final int L = F.length();
    private static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(L * 8));
    /** Bytes of L shorts. */
    private static final VectorSpecies<Byte> B2 = VectorSpecies.of(byte.class, VectorShape.forBitSize(L * 16));
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(L * 16));
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, VectorShape.forBitSize(L * 32));
    /** Enabled when the preferred shape is at least 256 bits; otherwise scalar code is faster. */
    static final boolean ENABLED = FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 256
            && !Boolean.getBoolean("gguflens.quant.scalar");

    private VectorDecoder() {
    }

    static boolean handles(GgmlType t) {
        return ENABLED && switch (t) {
            case F16, BF16, Q8_0, Q4_K, Q6_K -> true;
            default -> false;
        };
    }

    /** Same contract as {@link BlockDecoder#decode}, for the types {@link #handles} accepts. */
    static void decode(GgmlType t, byte[] s, int o, float[] y, int yo, int nBlocks) {
        switch (t) {
            case F16 -> f16(s, o, y, yo, nBlocks);
            case BF16 -> bf16(s, o, y, yo, nBlocks);
            case Q8_0 -> { for (int b = 0; b < nBlocks; b++) q8_0(s, o + 34 * b, y, yo + 32 * b); }
            case Q4_K -> { for (int b = 0; b < nBlocks; b++) q4_k(s, o + 144 * b, y, yo + 256 * b); }
            case Q6_K -> { for (int b = 0; b < nBlocks; b++) q6_k(s, o + 210 * b, y, yo + 256 * b); }
            default -> throw new IllegalArgumentException("no vector decoder for " + t);
        }
    }

    private static IntVector loadU16(byte[] s, int o) {
        ShortVector h = ByteVector.fromArray(B2, s, o).reinterpretAsShorts();
        return ((IntVector) h.convertShape(VectorOperators.S2I, I, 0)).and(0xFFFF);
    }

    private static void f16(byte[] s, int o, float[] y, int yo, int n) {
        int i = 0;
        int bound = n - n % L;
        for (; i < bound; i += L) {
            IntVector h = loadU16(s, o + 2 * i);
            IntVector sign = h.and(0x8000).lanewise(VectorOperators.LSHL, 16);
            IntVector em = h.and(0x7FFF);
            // normal: rebias the exponent (15 -> 127); Inf/NaN (exponent 31): exponent 255, payload kept
            IntVector normal = em.lanewise(VectorOperators.LSHL, 13).add(0x38000000);
            VectorMask<Integer> special = em.compare(VectorOperators.GE, 0x7C00);
            normal = normal.add(0x38000000, special);
            // NaNs come out quiet, as Float.float16ToFloat (and vcvtph2ps) make them
            normal = normal.lanewise(VectorOperators.OR, 0x00400000, em.compare(VectorOperators.GT, 0x7C00));
            // zero and subnormal: value = mantissa * 2^-24, exact in float
            VectorMask<Integer> tiny = em.compare(VectorOperators.LT, 0x0400);
            FloatVector small = ((FloatVector) em.convert(VectorOperators.I2F, 0)).mul(0x1p-24f);
            IntVector bits = normal.blend(small.reinterpretAsInts(), tiny).or(sign);
            bits.reinterpretAsFloats().intoArray(y, yo + i);
        }
        for (; i < n; i++) y[yo + i] = BlockDecoder.f16(s, o + 2 * i);
    }

    private static void bf16(byte[] s, int o, float[] y, int yo, int n) {
        int i = 0;
        int bound = n - n % L;
        for (; i < bound; i += L) {
            loadU16(s, o + 2 * i).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoArray(y, yo + i);
        }
        for (; i < n; i++) y[yo + i] = Float.intBitsToFloat(BlockDecoder.u16(s, o + 2 * i) << 16);
    }

    private static FloatVector toFloat(ByteVector v) {
        return (FloatVector) v.convertShape(VectorOperators.B2F, F, 0);
    }

    private static void q8_0(byte[] s, int o, float[] y, int e) {
        float d = BlockDecoder.f16(s, o);
        for (int j = 0; j < 32; j += L) {
            toFloat(ByteVector.fromArray(B, s, o + 2 + j)).mul(d).intoArray(y, e + j);
        }
    }

    private static void q4_k(byte[] s, int o, float[] y, int e) {
        float d = BlockDecoder.f16(s, o);
        float dmin = BlockDecoder.f16(s, o + 2);
        for (int p = 0; p < 4; p++) {
            int sm1 = BlockDecoder.scaleMinK4(s, o + 4, 2 * p);
            int sm2 = BlockDecoder.scaleMinK4(s, o + 4, 2 * p + 1);
            float d1 = d * (sm1 & 0xFF), m1 = dmin * (sm1 >> 8);
            float d2 = d * (sm2 & 0xFF), m2 = dmin * (sm2 >> 8);
            int q = o + 16 + 32 * p;
            int base = e + 64 * p;
            for (int l = 0; l < 32; l += L) {
                ByteVector b = ByteVector.fromArray(B, s, q + l);
                toFloat(b.and((byte) 0x0F)).mul(d1).sub(m1).intoArray(y, base + l);
                toFloat(b.lanewise(VectorOperators.LSHR, 4)).mul(d2).sub(m2).intoArray(y, base + 32 + l);
            }
        }
    }

    private static void q6_k(byte[] s, int o, float[] y, int e) {
        float d = BlockDecoder.f16(s, o + 208);
        for (int h = 0; h < 2; h++) {
            int ql = o + 64 * h;
            int qh = o + 128 + 32 * h;
            int sc = o + 192 + 8 * h;
            int base = e + 128 * h;
            for (int l = 0; l < 32; l += L) {
                int is = l / 16;
                ByteVector a = ByteVector.fromArray(B, s, ql + l);
                ByteVector b = ByteVector.fromArray(B, s, ql + l + 32);
                ByteVector hb = ByteVector.fromArray(B, s, qh + l);
                ByteVector q1 = a.and((byte) 0x0F).or(hb.and((byte) 3).lanewise(VectorOperators.LSHL, 4)).sub((byte) 32);
                ByteVector q2 = b.and((byte) 0x0F).or(hb.lanewise(VectorOperators.LSHR, 2).and((byte) 3).lanewise(VectorOperators.LSHL, 4)).sub((byte) 32);
                ByteVector q3 = a.lanewise(VectorOperators.LSHR, 4).or(hb.lanewise(VectorOperators.LSHR, 4).and((byte) 3).lanewise(VectorOperators.LSHL, 4)).sub((byte) 32);
                ByteVector q4 = b.lanewise(VectorOperators.LSHR, 4).or(hb.lanewise(VectorOperators.LSHR, 6).lanewise(VectorOperators.LSHL, 4)).sub((byte) 32);
                toFloat(q1).mul(d * s[sc + is]).intoArray(y, base + l);
                toFloat(q2).mul(d * s[sc + is + 2]).intoArray(y, base + l + 32);
                toFloat(q3).mul(d * s[sc + is + 4]).intoArray(y, base + l + 64);
                toFloat(q4).mul(d * s[sc + is + 6]).intoArray(y, base + l + 96);
            }
        }
    }
}
