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
 * SIMD decoders for the tile path (F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K), written for the float species the
 * machine has: 4, 8 or 16 lanes (128, 256 or 512 bits). Quantised bytes are loaded {@link #B} at a time, at least 8
 * (the narrowest byte vector is 64 bits), and widened to floats one part of {@link #L} lanes at a time. Every lane
 * performs exactly the scalar decoder's float operations in the same order (int->float conversions are exact), so the
 * results are bit-identical to {@link BlockDecoder}'s scalar code at every width; only the speed differs.
 */
final class VectorDecoder {
    /** The preferred float species, capped at 512 bits: 4 lanes with NEON/SSE (or -XX:MaxVectorSize=16), 8 with AVX2, 16 with AVX-512. */
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED.length() >= 16
            ? FloatVector.SPECIES_512 : FloatVector.SPECIES_PREFERRED;
    static final int L = F.length();
    /**
     * Quantised bytes per load: L (one part), but 16 at 4 lanes: lane-wise shifts of 64-bit byte vectors are not
     * compiled to SIMD on x86 (Q6_K decoded at 3.7 ns per weight, slower than scalar; 16 bytes in four parts: 0.5).
     */
    private static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(Math.max(128, L * 8)));
    /** Float parts per byte load: 4 at 128 bits (16 bytes -> four 4-lane floats), 2 at 256, 1 at 512. */
    private static final int PARTS = B.length() / L;
    /** Bytes of L shorts. */
    private static final VectorSpecies<Byte> B2 = VectorSpecies.of(byte.class, VectorShape.forBitSize(Math.max(64, L * 16)));
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(Math.max(64, L * 16)));
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, VectorShape.forBitSize(L * 32));
    /**
     * Exactly L bytes (64 bits at 8 lanes, 128 at 16), widened straight to L int lanes (vpmovsxbd) where the
     * nibble and bit fields are cut out with int shifts and masks (Q4_K, Q5_K, Q6_K); null at 4 lanes (no 32-bit byte
     * vector). At 256 bits Q4_K decoded in 0.30-0.33 ns per weight this way against 0.50 with 16-byte loads cut in
     * byte lanes and split into two float parts (DecodeTuning, one thread's CPU time, two runs each alternating, load
     * 13). Q6_K too ({@link #q6_kIntLanes}).
     */
    private static final VectorSpecies<Byte> BL = L >= 8 ? VectorSpecies.of(byte.class, VectorShape.forBitSize(L * 8)) : null;
    /**
     * Q6_K's byte loads widened to int lanes: {@link #BL}, and at 4 lanes 8 bytes of which the first 4 are widened
     * (every such load stays inside its 210-byte block: the last starts at byte 188 of it).
     */
    private static final VectorSpecies<Byte> BQ6 = VectorSpecies.of(byte.class, VectorShape.forBitSize(Math.max(64, L * 8)));
    /** Enabled from 128 bits (4 float lanes) up; -Dgguflens.quant.scalar=true turns it off. */
    static final boolean ENABLED = L >= 4 && !Boolean.getBoolean("gguflens.quant.scalar");

    private VectorDecoder() {
    }

    static boolean handles(GgmlType t) {
        return ENABLED && switch (t) {
            case F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K -> true;
            default -> false;
        };
    }

    /** Same contract as {@link BlockDecoder#decode}, for the types {@link #handles} accepts. */
    static void decode(GgmlType t, byte[] s, int o, float[] y, int yo, int nBlocks) {
        switch (t) {
            case F16 -> f16(s, o, y, yo, nBlocks);
            case BF16 -> bf16(s, o, y, yo, nBlocks);
            case Q8_0 -> { for (int b = 0; b < nBlocks; b++) q8_0(s, o + 34 * b, y, yo + 32 * b); }
            case Q4_0 -> { for (int b = 0; b < nBlocks; b++) q4_0(s, o + 18 * b, y, yo + 32 * b); }
            case Q4_K -> { for (int b = 0; b < nBlocks; b++) q4_k(s, o + 144 * b, y, yo + 256 * b); }
            case Q5_K -> { for (int b = 0; b < nBlocks; b++) q5_k(s, o + 176 * b, y, yo + 256 * b); }
            case Q6_K -> { for (int b = 0; b < nBlocks; b++) q6_k(s, o + 210 * b, y, yo + 256 * b); }
            default -> throw new IllegalArgumentException("no vector decoder for " + t);
        }
    }

    /** L bytes at s[o..] as L int lanes, sign-extended (callers mask the fields they need). */
    private static IntVector loadBytesAsInts(byte[] s, int o) {
        return (IntVector) ByteVector.fromArray(BL, s, o).convertShape(VectorOperators.B2I, I, 0);
    }

    private static FloatVector toFloat(IntVector v) {
        return (FloatVector) v.convert(VectorOperators.I2F, 0);
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

    /** Lanes [part*L, part*L + L) of {@code v} as floats (exact). */
    private static FloatVector toFloat(ByteVector v, int part) {
        return (FloatVector) v.convertShape(VectorOperators.B2F, F, part);
    }

    private static void q8_0(byte[] s, int o, float[] y, int e) {
        float d = BlockDecoder.f16(s, o);
        if (BL != null) {
            // L bytes widened straight to L int lanes, as for Q4_K: at 256 bits 0.107-0.113 ns per weight against
            // 0.131-0.153 splitting 16-byte loads into two parts (DecodeTuning, one thread, three runs alternating).
            for (int j = 0; j < 32; j += L) toFloat(loadBytesAsInts(s, o + 2 + j)).mul(d).intoArray(y, e + j);
            return;
        }
        for (int j = 0; j < 32; j += B.length()) {
            ByteVector q = ByteVector.fromArray(B, s, o + 2 + j);
            for (int p = 0; p < PARTS; p++) toFloat(q, p).mul(d).intoArray(y, e + j + p * L);
        }
    }

    private static void q4_0(byte[] s, int o, float[] y, int e) {
        float d = BlockDecoder.f16(s, o);
        for (int j = 0; j < 16; j += B.length()) {
            ByteVector b = ByteVector.fromArray(B, s, o + 2 + j);
            ByteVector lo = b.and((byte) 0x0F).sub((byte) 8);
            ByteVector hi = b.lanewise(VectorOperators.LSHR, 4).sub((byte) 8);
            for (int p = 0; p < PARTS; p++) {
                toFloat(lo, p).mul(d).intoArray(y, e + j + p * L);
                toFloat(hi, p).mul(d).intoArray(y, e + 16 + j + p * L);
            }
        }
    }

    private static void q4_k(byte[] s, int o, float[] y, int e) {
        if (BL != null) {
            q4_kIntLanes(s, o, y, e);
            return;
        }
        float d = BlockDecoder.f16(s, o);
        float dmin = BlockDecoder.f16(s, o + 2);
        for (int p = 0; p < 4; p++) {
            int sm1 = BlockDecoder.scaleMinK4(s, o + 4, 2 * p);
            int sm2 = BlockDecoder.scaleMinK4(s, o + 4, 2 * p + 1);
            float d1 = d * (sm1 & 0xFF), m1 = dmin * (sm1 >> 8);
            float d2 = d * (sm2 & 0xFF), m2 = dmin * (sm2 >> 8);
            int q = o + 16 + 32 * p;
            int base = e + 64 * p;
            for (int l = 0; l < 32; l += B.length()) {
                ByteVector b = ByteVector.fromArray(B, s, q + l);
                ByteVector lo = b.and((byte) 0x0F), hi = b.lanewise(VectorOperators.LSHR, 4);
                for (int part = 0; part < PARTS; part++) {
                    toFloat(lo, part).mul(d1).sub(m1).intoArray(y, base + l + part * L);
                    toFloat(hi, part).mul(d2).sub(m2).intoArray(y, base + 32 + l + part * L);
                }
            }
        }
    }

    private static void q5_k(byte[] s, int o, float[] y, int e) {
        if (BL != null) {
            q5_kIntLanes(s, o, y, e);
            return;
        }
        float d = BlockDecoder.f16(s, o);
        float dmin = BlockDecoder.f16(s, o + 2);
        for (int p = 0; p < 4; p++) {
            int sm1 = BlockDecoder.scaleMinK4(s, o + 4, 2 * p);
            int sm2 = BlockDecoder.scaleMinK4(s, o + 4, 2 * p + 1);
            float d1 = d * (sm1 & 0xFF), m1 = dmin * (sm1 >> 8);
            float d2 = d * (sm2 & 0xFF), m2 = dmin * (sm2 >> 8);
            int q = o + 48 + 32 * p;
            int base = e + 64 * p;
            for (int l = 0; l < 32; l += B.length()) {
                ByteVector b = ByteVector.fromArray(B, s, q + l);
                ByteVector hb = ByteVector.fromArray(B, s, o + 16 + l);
                // bit 2p of hb adds 16 to the low nibble, bit 2p+1 to the high one (values 0..31 fit a byte)
                ByteVector lo = b.and((byte) 0x0F).or(hb.lanewise(VectorOperators.LSHR, 2 * p).and((byte) 1).lanewise(VectorOperators.LSHL, 4));
                ByteVector hi = b.lanewise(VectorOperators.LSHR, 4).or(hb.lanewise(VectorOperators.LSHR, 2 * p + 1).and((byte) 1).lanewise(VectorOperators.LSHL, 4));
                for (int part = 0; part < PARTS; part++) {
                    toFloat(lo, part).mul(d1).sub(m1).intoArray(y, base + l + part * L);
                    toFloat(hi, part).mul(d2).sub(m2).intoArray(y, base + 32 + l + part * L);
                }
            }
        }
    }

    private static void q6_k(byte[] s, int o, float[] y, int e) {
        q6_kIntLanes(s, o, y, e);
    }

    /** Q4_K from 8 or 16 lanes up: L bytes widened to ints, nibbles cut there (the scalar decoder's float ops). */
    private static void q4_kIntLanes(byte[] s, int o, float[] y, int e) {
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
                IntVector b = loadBytesAsInts(s, q + l);
                toFloat(b.and(0x0F)).mul(d1).sub(m1).intoArray(y, base + l);
                toFloat(b.lanewise(VectorOperators.LSHR, 4).and(0x0F)).mul(d2).sub(m2).intoArray(y, base + 32 + l);
            }
        }
    }

    /** Q5_K from 8 lanes up, as {@link #q4_kIntLanes} with the fifth bit from the high-bit bytes. */
    private static void q5_kIntLanes(byte[] s, int o, float[] y, int e) {
        float d = BlockDecoder.f16(s, o);
        float dmin = BlockDecoder.f16(s, o + 2);
        for (int p = 0; p < 4; p++) {
            int sm1 = BlockDecoder.scaleMinK4(s, o + 4, 2 * p);
            int sm2 = BlockDecoder.scaleMinK4(s, o + 4, 2 * p + 1);
            float d1 = d * (sm1 & 0xFF), m1 = dmin * (sm1 >> 8);
            float d2 = d * (sm2 & 0xFF), m2 = dmin * (sm2 >> 8);
            int q = o + 48 + 32 * p;
            int base = e + 64 * p;
            for (int l = 0; l < 32; l += L) {
                IntVector b = loadBytesAsInts(s, q + l);
                IntVector hb = loadBytesAsInts(s, o + 16 + l);
                IntVector lo = b.and(0x0F).or(hb.lanewise(VectorOperators.LSHR, 2 * p).and(1).lanewise(VectorOperators.LSHL, 4));
                IntVector hi = b.lanewise(VectorOperators.LSHR, 4).and(0x0F)
                        .or(hb.lanewise(VectorOperators.LSHR, 2 * p + 1).and(1).lanewise(VectorOperators.LSHL, 4));
                toFloat(lo).mul(d1).sub(m1).intoArray(y, base + l);
                toFloat(hi).mul(d2).sub(m2).intoArray(y, base + 32 + l);
            }
        }
    }

    /**
     * Q6_K at every width: the low-bit byte and the high-bit byte of two weights 64 apart loaded once as int lanes
     * and both 6-bit values cut there (int shifts and masks, where byte-lane shifts cost a widening each on x86).
     * One thread's CPU time, 16 rows of 4096 in L2, against the byte-lane code it replaced: 0.25-0.36 vs 0.67-1.01
     * ns per weight at 256 bits, 0.68 vs 1.57 at 128 (16-byte loads in four parts; Q6Lab, load 3-6), bit-identical;
     * through {@link #decode} (DecodeTuning, medians) 0.47-0.51 vs 1.11 at 256 bits and 0.78-0.88 vs 1.13 at 128.
     * The pair is its own method called from one place: all four values of a group in one compile passed C2's node
     * budget for inlining (NodeCountInliningCutoff), and the last conversions were left boxed calls (1.0-1.2 ns).
     */
    private static void q6_kIntLanes(byte[] s, int o, float[] y, int e) {
        float d = BlockDecoder.f16(s, o + 208);
        for (int h = 0; h < 2; h++) {
            int ql = o + 64 * h;
            int qh = o + 128 + 32 * h;
            int sc = o + 192 + 8 * h;
            int base = e + 128 * h;
            for (int l = 0; l < 32; l += L) {
                int is = l / 16;  // L divides 16: one scale per part
                for (int j = 0; j < 2; j++) {  // one call site, inlined once: two would pass C2's node budget again
                    q6Pair(s, ql + l + 32 * j, qh + l, j, d * s[sc + is + 2 * j], d * s[sc + is + 2 * j + 4], y, base + l + 32 * j);
                }
            }
        }
    }

    /**
     * Two Q6_K values per lane from the low-bit bytes at {@code lo} and the high-bit bytes at {@code hi}: the low
     * nibble with bits 2j, 2j+1 of the high-bit byte as bits 4-5 (to y[yo..]) and the high nibble with bits 2j+4,
     * 2j+5 (to y[yo + 64..]), each minus 32 times its scale.
     */
    private static void q6Pair(byte[] s, int lo, int hi, int j, float scaleLow, float scaleHigh, float[] y, int yo) {
        IntVector a = (IntVector) ByteVector.fromArray(BQ6, s, lo).convertShape(VectorOperators.B2I, I, 0);
        IntVector hb = (IntVector) ByteVector.fromArray(BQ6, s, hi).convertShape(VectorOperators.B2I, I, 0);
        IntVector low = a.and(0x0F).or(hb.lanewise(VectorOperators.LSHL, 4 - 2 * j).and(48)).sub(32);
        IntVector high = a.lanewise(VectorOperators.ASHR, 4).and(0x0F).or(hb.lanewise(VectorOperators.ASHR, 2 * j).and(48)).sub(32);
        toFloat(low).mul(scaleLow).intoArray(y, yo);
        toFloat(high).mul(scaleHigh).intoArray(y, yo + 64);
    }
}
