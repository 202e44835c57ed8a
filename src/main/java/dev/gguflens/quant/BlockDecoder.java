package dev.gguflens.quant;

import dev.gguflens.gguf.GgmlType;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Scalar decoders from ggml block bytes (already copied into a heap array) to float32, one method per type.
 * Layouts and the order of float operations follow ggml-common.h / dequantize_row_* of the pinned
 * llama.cpp, so results are bit-identical to ggml's reference dequantisation (Java never contracts
 * a*b+c into an FMA, so each product and sum is rounded exactly as in C).
 */
final class BlockDecoder {
    private static final VarHandle U16 = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle U32 = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);

    static final byte[] KVALUES_IQ4NL = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
    /** e2m1 values, doubled (the e8m0 scale is halved to compensate). */
    static final byte[] KVALUES_MXFP4 = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};
    private static final float IQ1S_DELTA = 0.125f;

    private BlockDecoder() {
    }

    static boolean supports(GgmlType t) {
        return switch (t) {
            case F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS,
                 IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ1_S, IQ1_M, TQ1_0, TQ2_0, MXFP4 -> true;
            default -> false;
        };
    }

    /** Decodes {@code nBlocks} consecutive blocks starting at byte {@code o} of {@code s} into {@code y[yo..]}. */
    static void decode(GgmlType t, byte[] s, int o, float[] y, int yo, int nBlocks) {
        if (VectorDecoder.handles(t)) {
            VectorDecoder.decode(t, s, o, y, yo, nBlocks);
        } else {
            decodeScalar(t, s, o, y, yo, nBlocks);
        }
    }

    /** The plain scalar decoders (the reference the SIMD ones are tested against). */
    static void decodeScalar(GgmlType t, byte[] s, int o, float[] y, int yo, int nBlocks) {
        int bs = t.typeSize;
        int ne = t.blockSize;
        switch (t) {
            case F32 -> { for (int i = 0; i < nBlocks; i++) y[yo + i] = Float.intBitsToFloat(u32(s, o + 4 * i)); }
            case F16 -> { for (int i = 0; i < nBlocks; i++) y[yo + i] = f16(s, o + 2 * i); }
            case BF16 -> { for (int i = 0; i < nBlocks; i++) y[yo + i] = Float.intBitsToFloat(u16(s, o + 2 * i) << 16); }
            default -> {
                for (int b = 0; b < nBlocks; b++) {
                    int bo = o + b * bs;
                    int eo = yo + b * ne;
                    switch (t) {
                        case Q4_0 -> q4_0(s, bo, y, eo);
                        case Q4_1 -> q4_1(s, bo, y, eo);
                        case Q5_0 -> q5_0(s, bo, y, eo);
                        case Q5_1 -> q5_1(s, bo, y, eo);
                        case Q8_0 -> q8_0(s, bo, y, eo);
                        case Q2_K -> q2_k(s, bo, y, eo);
                        case Q3_K -> q3_k(s, bo, y, eo);
                        case Q4_K -> q4_k(s, bo, y, eo);
                        case Q5_K -> q5_k(s, bo, y, eo);
                        case Q6_K -> q6_k(s, bo, y, eo);
                        case IQ4_NL -> iq4_nl(s, bo, y, eo);
                        case IQ4_XS -> iq4_xs(s, bo, y, eo);
                        case IQ2_XXS -> iq2_xxs(s, bo, y, eo);
                        case IQ2_XS -> iq2_xs(s, bo, y, eo);
                        case IQ2_S -> iq2_s(s, bo, y, eo);
                        case IQ3_XXS -> iq3_xxs(s, bo, y, eo);
                        case IQ3_S -> iq3_s(s, bo, y, eo);
                        case IQ1_S -> iq1_s(s, bo, y, eo);
                        case IQ1_M -> iq1_m(s, bo, y, eo);
                        case TQ1_0 -> tq1_0(s, bo, y, eo);
                        case TQ2_0 -> tq2_0(s, bo, y, eo);
                        case MXFP4 -> mxfp4(s, bo, y, eo);
                        default -> throw new UnsupportedTypeException(t, null);
                    }
                }
            }
        }
    }

    static int u8(byte[] s, int i) {
        return s[i] & 0xFF;
    }

    static int u16(byte[] s, int i) {
        return (short) U16.get(s, i) & 0xFFFF;
    }

    static int u32(byte[] s, int i) {
        return (int) U32.get(s, i);
    }

    static float f16(byte[] s, int i) {
        return Float.float16ToFloat((short) U16.get(s, i));
    }

    // ---- 32-element blocks -------------------------------------------------------------------------

    private static void q4_0(byte[] s, int o, float[] y, int e) {
        float d = f16(s, o);
        for (int j = 0; j < 16; j++) {
            int q = u8(s, o + 2 + j);
            y[e + j] = ((q & 0xF) - 8) * d;
            y[e + j + 16] = ((q >> 4) - 8) * d;
        }
    }

    private static void q4_1(byte[] s, int o, float[] y, int e) {
        float d = f16(s, o);
        float m = f16(s, o + 2);
        for (int j = 0; j < 16; j++) {
            int q = u8(s, o + 4 + j);
            y[e + j] = (q & 0xF) * d + m;
            y[e + j + 16] = (q >> 4) * d + m;
        }
    }

    private static void q5_0(byte[] s, int o, float[] y, int e) {
        float d = f16(s, o);
        int qh = u32(s, o + 2);
        for (int j = 0; j < 16; j++) {
            int q = u8(s, o + 6 + j);
            int h0 = ((qh >>> j) << 4) & 0x10;
            int h1 = (qh >>> (j + 12)) & 0x10;
            y[e + j] = (((q & 0xF) | h0) - 16) * d;
            y[e + j + 16] = (((q >> 4) | h1) - 16) * d;
        }
    }

    private static void q5_1(byte[] s, int o, float[] y, int e) {
        float d = f16(s, o);
        float m = f16(s, o + 2);
        int qh = u32(s, o + 4);
        for (int j = 0; j < 16; j++) {
            int q = u8(s, o + 8 + j);
            int h0 = ((qh >>> j) << 4) & 0x10;
            int h1 = (qh >>> (j + 12)) & 0x10;
            y[e + j] = ((q & 0xF) | h0) * d + m;
            y[e + j + 16] = ((q >> 4) | h1) * d + m;
        }
    }

    private static void q8_0(byte[] s, int o, float[] y, int e) {
        float d = f16(s, o);
        for (int j = 0; j < 32; j++) y[e + j] = s[o + 2 + j] * d;
    }

    private static void iq4_nl(byte[] s, int o, float[] y, int e) {
        float d = f16(s, o);
        for (int j = 0; j < 16; j++) {
            int q = u8(s, o + 2 + j);
            y[e + j] = d * KVALUES_IQ4NL[q & 0xF];
            y[e + j + 16] = d * KVALUES_IQ4NL[q >> 4];
        }
    }

    private static void mxfp4(byte[] s, int o, float[] y, int e) {
        float d = e8m0Half(u8(s, o));
        for (int j = 0; j < 16; j++) {
            int q = u8(s, o + 1 + j);
            y[e + j] = KVALUES_MXFP4[q & 0xF] * d;
            y[e + j + 16] = KVALUES_MXFP4[q >> 4] * d;
        }
    }

    /** ggml_e8m0_to_fp32_half: 2^(e-127) / 2, with the two smallest exponents landing on subnormals. */
    static float e8m0Half(int e) {
        int bits = e < 2 ? 0x00200000 << e : (e - 1) << 23;
        return Float.intBitsToFloat(bits);
    }

    // ---- k-quants (256-element super-blocks) ------------------------------------------------------

    private static void q2_k(byte[] s, int o, float[] y, int e) {
        float d = f16(s, o + 80);
        float dmin = f16(s, o + 82);
        for (int h = 0; h < 2; h++) {
            int q = o + 16 + 32 * h;
            for (int j = 0; j < 4; j++) {
                int shift = 2 * j;
                for (int half = 0; half < 2; half++) {
                    int sc = u8(s, o + h * 8 + j * 2 + half);
                    float dl = d * (sc & 0xF);
                    float ml = dmin * (sc >> 4);
                    int base = e + h * 128 + j * 32 + half * 16;
                    for (int l = 0; l < 16; l++) {
                        y[base + l] = dl * ((u8(s, q + half * 16 + l) >> shift) & 3) - ml;
                    }
                }
            }
        }
    }

    private static void q3_k(byte[] s, int o, float[] y, int e) {
        float d = f16(s, o + 108);
        int sc = o + 96;
        for (int h = 0; h < 2; h++) {
            int q = o + 32 + 32 * h;
            for (int j = 0; j < 4; j++) {
                int shift = 2 * j;
                int mask = 1 << (h * 4 + j);
                for (int half = 0; half < 2; half++) {
                    int is = h * 8 + j * 2 + half;
                    int low = is < 8 ? u8(s, sc + is) & 0xF : u8(s, sc + is - 8) >> 4;
                    int high = (u8(s, sc + 8 + (is & 3)) >> (2 * (is >> 2))) & 3;
                    float dl = d * ((low | (high << 4)) - 32);
                    int base = e + h * 128 + j * 32 + half * 16;
                    for (int l = 0; l < 16; l++) {
                        int idx = half * 16 + l;
                        int v = ((u8(s, q + idx) >> shift) & 3) - ((u8(s, o + idx) & mask) != 0 ? 0 : 4);
                        y[base + l] = dl * v;
                    }
                }
            }
        }
    }

    /** get_scale_min_k4 of ggml: packed 6-bit scale (low int) and min (high int) of sub-block j. */
    static int scaleMinK4(byte[] s, int q, int j) {
        int sc, m;
        if (j < 4) {
            sc = u8(s, q + j) & 63;
            m = u8(s, q + j + 4) & 63;
        } else {
            sc = (u8(s, q + j + 4) & 0xF) | ((u8(s, q + j - 4) >> 6) << 4);
            m = (u8(s, q + j + 4) >> 4) | ((u8(s, q + j) >> 6) << 4);
        }
        return sc | (m << 8);
    }

    private static void q4_k(byte[] s, int o, float[] y, int e) {
        float d = f16(s, o);
        float dmin = f16(s, o + 2);
        for (int p = 0; p < 4; p++) {
            int sm1 = scaleMinK4(s, o + 4, 2 * p);
            int sm2 = scaleMinK4(s, o + 4, 2 * p + 1);
            float d1 = d * (sm1 & 0xFF), m1 = dmin * (sm1 >> 8);
            float d2 = d * (sm2 & 0xFF), m2 = dmin * (sm2 >> 8);
            int q = o + 16 + 32 * p;
            int base = e + 64 * p;
            for (int l = 0; l < 32; l++) {
                int b = u8(s, q + l);
                y[base + l] = d1 * (b & 0xF) - m1;
                y[base + 32 + l] = d2 * (b >> 4) - m2;
            }
        }
    }

    private static void q5_k(byte[] s, int o, float[] y, int e) {
        float d = f16(s, o);
        float dmin = f16(s, o + 2);
        for (int p = 0; p < 4; p++) {
            int sm1 = scaleMinK4(s, o + 4, 2 * p);
            int sm2 = scaleMinK4(s, o + 4, 2 * p + 1);
            float d1 = d * (sm1 & 0xFF), m1 = dmin * (sm1 >> 8);
            float d2 = d * (sm2 & 0xFF), m2 = dmin * (sm2 >> 8);
            int u1 = 1 << (2 * p), u2 = 2 << (2 * p);
            int q = o + 48 + 32 * p;
            int base = e + 64 * p;
            for (int l = 0; l < 32; l++) {
                int b = u8(s, q + l);
                int hb = u8(s, o + 16 + l);
                y[base + l] = d1 * ((b & 0xF) + ((hb & u1) != 0 ? 16 : 0)) - m1;
                y[base + 32 + l] = d2 * ((b >> 4) + ((hb & u2) != 0 ? 16 : 0)) - m2;
            }
        }
    }

    private static void q6_k(byte[] s, int o, float[] y, int e) {
        float d = f16(s, o + 208);
        for (int h = 0; h < 2; h++) {
            int ql = o + 64 * h;
            int qh = o + 128 + 32 * h;
            int sc = o + 192 + 8 * h;
            int base = e + 128 * h;
            for (int l = 0; l < 32; l++) {
                int is = l / 16;
                int a = u8(s, ql + l), b = u8(s, ql + l + 32), hb = u8(s, qh + l);
                int q1 = ((a & 0xF) | ((hb & 3) << 4)) - 32;
                int q2 = ((b & 0xF) | (((hb >> 2) & 3) << 4)) - 32;
                int q3 = ((a >> 4) | (((hb >> 4) & 3) << 4)) - 32;
                int q4 = ((b >> 4) | (((hb >> 6) & 3) << 4)) - 32;
                y[base + l] = d * s[sc + is] * q1;
                y[base + l + 32] = d * s[sc + is + 2] * q2;
                y[base + l + 64] = d * s[sc + is + 4] * q3;
                y[base + l + 96] = d * s[sc + is + 6] * q4;
            }
        }
    }

    private static void iq4_xs(byte[] s, int o, float[] y, int e) {
        float d = f16(s, o);
        int scalesH = u16(s, o + 2);
        for (int ib = 0; ib < 8; ib++) {
            int ls = ((u8(s, o + 4 + ib / 2) >> (4 * (ib % 2))) & 0xF) | (((scalesH >> (2 * ib)) & 3) << 4);
            float dl = d * (ls - 32);
            int q = o + 8 + 16 * ib;
            int base = e + 32 * ib;
            for (int j = 0; j < 16; j++) {
                int b = u8(s, q + j);
                y[base + j] = dl * KVALUES_IQ4NL[b & 0xF];
                y[base + j + 16] = dl * KVALUES_IQ4NL[b >> 4];
            }
        }
    }

    private static void tq1_0(byte[] s, int o, float[] y, int e) {
        float d = f16(s, o + 52);
        int k = e;
        int pow3 = 1;
        for (int n = 0; n < 5; n++, pow3 *= 3) {
            for (int m = 0; m < 32; m++) y[k++] = (ternary(u8(s, o + m) * pow3) - 1) * d;
        }
        pow3 = 1;
        for (int n = 0; n < 5; n++, pow3 *= 3) {
            for (int m = 0; m < 16; m++) y[k++] = (ternary(u8(s, o + 32 + m) * pow3) - 1) * d;
        }
        pow3 = 1;
        for (int n = 0; n < 4; n++, pow3 *= 3) {
            for (int j = 0; j < 4; j++) y[k++] = (ternary(u8(s, o + 48 + j) * pow3) - 1) * d;
        }
    }

    /** One base-3 digit of TQ1_0's fixed-point packing: the byte times a power of 3, kept mod 256, times 3 / 256. */
    private static int ternary(int product) {
        return ((product & 0xFF) * 3) >> 8;
    }

    private static void tq2_0(byte[] s, int o, float[] y, int e) {
        float d = f16(s, o + 64);
        int k = e;
        for (int j = 0; j < 64; j += 32) {
            for (int l = 0; l < 4; l++) {
                for (int m = 0; m < 32; m++) y[k++] = (((u8(s, o + j + m) >> (2 * l)) & 3) - 1) * d;
            }
        }
    }

    // ---- i-quants with codebooks -----------------------------------------------------------------

    private static void signedGrid(float[] grid, int gridOff, int n, float db, int signs, float[] y, int yo) {
        for (int j = 0; j < n; j++) y[yo + j] = db * grid[gridOff + j] * ((signs & (1 << j)) != 0 ? -1f : 1f);
    }

    private static void iq2_xxs(byte[] s, int o, float[] y, int e) {
        float d = f16(s, o);
        for (int ib = 0; ib < 8; ib++) {
            int q = o + 2 + 8 * ib;
            int aux1 = u32(s, q + 4);
            float db = d * (0.5f + (aux1 >>> 28)) * 0.25f;
            for (int l = 0; l < 4; l++) {
                int signs = IqGrids.KSIGNS[(aux1 >>> (7 * l)) & 127];
                signedGrid(IqGrids.IQ2XXS, 8 * u8(s, q + l), 8, db, signs, y, e + 32 * ib + 8 * l);
            }
        }
    }

    private static void iq2_xs(byte[] s, int o, float[] y, int e) {
        float d = f16(s, o);
        for (int ib = 0; ib < 8; ib++) {
            int sc = u8(s, o + 66 + ib);
            float db0 = d * (0.5f + (sc & 0xF)) * 0.25f;
            float db1 = d * (0.5f + (sc >> 4)) * 0.25f;
            for (int l = 0; l < 4; l++) {
                int qv = u16(s, o + 2 + 2 * (4 * ib + l));
                signedGrid(IqGrids.IQ2XS, 8 * (qv & 511), 8, l < 2 ? db0 : db1, IqGrids.KSIGNS[qv >> 9],
                        y, e + 32 * ib + 8 * l);
            }
        }
    }

    private static void iq2_s(byte[] s, int o, float[] y, int e) {
        float d = f16(s, o);
        for (int ib = 0; ib < 8; ib++) {
            int sc = u8(s, o + 74 + ib);
            float db0 = d * (0.5f + (sc & 0xF)) * 0.25f;
            float db1 = d * (0.5f + (sc >> 4)) * 0.25f;
            int qh = u8(s, o + 66 + ib);
            for (int l = 0; l < 4; l++) {
                int idx = u8(s, o + 2 + 4 * ib + l) | ((qh << (8 - 2 * l)) & 0x300);
                int signs = u8(s, o + 34 + 4 * ib + l);
                signedGrid(IqGrids.IQ2S, 8 * idx, 8, l < 2 ? db0 : db1, signs, y, e + 32 * ib + 8 * l);
            }
        }
    }

    private static void iq3_xxs(byte[] s, int o, float[] y, int e) {
        float d = f16(s, o);
        for (int ib = 0; ib < 8; ib++) {
            int aux = u32(s, o + 66 + 4 * ib);
            float db = d * (0.5f + (aux >>> 28)) * 0.5f;
            int q = o + 2 + 8 * ib;
            for (int l = 0; l < 4; l++) {
                int signs = IqGrids.KSIGNS[(aux >>> (7 * l)) & 127];
                int yo = e + 32 * ib + 8 * l;
                signedGrid(IqGrids.IQ3XXS, 4 * u8(s, q + 2 * l), 4, db, signs, y, yo);
                signedGrid(IqGrids.IQ3XXS, 4 * u8(s, q + 2 * l + 1), 4, db, signs >> 4, y, yo + 4);
            }
        }
    }

    private static void iq3_s(byte[] s, int o, float[] y, int e) {
        float d = f16(s, o);
        for (int ib = 0; ib < 8; ib++) {
            int sc = u8(s, o + 106 + ib / 2);
            float db = d * (1 + 2 * ((ib & 1) == 0 ? sc & 0xF : sc >> 4));
            int qh = u8(s, o + 66 + ib);
            int q = o + 2 + 8 * ib;
            for (int l = 0; l < 4; l++) {
                int signs = u8(s, o + 74 + 4 * ib + l);
                int idx1 = u8(s, q + 2 * l) | ((qh << (8 - 2 * l)) & 256);
                int idx2 = u8(s, q + 2 * l + 1) | ((qh << (7 - 2 * l)) & 256);
                int yo = e + 32 * ib + 8 * l;
                signedGrid(IqGrids.IQ3S, 4 * idx1, 4, db, signs, y, yo);
                signedGrid(IqGrids.IQ3S, 4 * idx2, 4, db, signs >> 4, y, yo + 4);
            }
        }
    }

    private static void iq1_s(byte[] s, int o, float[] y, int e) {
        float d = f16(s, o);
        for (int ib = 0; ib < 8; ib++) {
            int qh = u16(s, o + 34 + 2 * ib);
            float dl = d * (2 * ((qh >> 12) & 7) + 1);
            float delta = (qh & 0x8000) != 0 ? -IQ1S_DELTA : IQ1S_DELTA;
            for (int l = 0; l < 4; l++) {
                int idx = u8(s, o + 2 + 4 * ib + l) | (((qh >> (3 * l)) & 7) << 8);
                int yo = e + 32 * ib + 8 * l;
                for (int j = 0; j < 8; j++) y[yo + j] = dl * (IqGrids.IQ1S[8 * idx + j] + delta);
            }
        }
    }

    private static void iq1_m(byte[] s, int o, float[] y, int e) {
        int sc0 = u16(s, o + 48), sc1 = u16(s, o + 50), sc2 = u16(s, o + 52), sc3 = u16(s, o + 54);
        // The super-block scale is an f16 scattered over the top nibbles of the four scale words.
        int dBits = (sc0 >> 12) | ((sc1 >> 8) & 0x00F0) | ((sc2 >> 4) & 0x0F00) | (sc3 & 0xF000);
        float d = Float.float16ToFloat((short) dBits);
        for (int ib = 0; ib < 8; ib++) {
            int sc = u16(s, o + 48 + 2 * (ib / 2));
            float dl1 = d * (2 * ((sc >> (6 * (ib % 2))) & 7) + 1);
            float dl2 = d * (2 * ((sc >> (6 * (ib % 2) + 3)) & 7) + 1);
            int qh0 = u8(s, o + 32 + 2 * ib), qh1 = u8(s, o + 32 + 2 * ib + 1);
            int q = o + 4 * ib;
            int[] idx = {u8(s, q) | ((qh0 << 8) & 0x700), u8(s, q + 1) | ((qh0 << 4) & 0x700),
                    u8(s, q + 2) | ((qh1 << 8) & 0x700), u8(s, q + 3) | ((qh1 << 4) & 0x700)};
            float[] delta = {(qh0 & 0x08) != 0 ? -IQ1S_DELTA : IQ1S_DELTA, (qh0 & 0x80) != 0 ? -IQ1S_DELTA : IQ1S_DELTA,
                    (qh1 & 0x08) != 0 ? -IQ1S_DELTA : IQ1S_DELTA, (qh1 & 0x80) != 0 ? -IQ1S_DELTA : IQ1S_DELTA};
            for (int l = 0; l < 4; l++) {
                float dl = l < 2 ? dl1 : dl2;
                int yo = e + 32 * ib + 8 * l;
                for (int j = 0; j < 8; j++) y[yo + j] = dl * (IqGrids.IQ1S[8 * idx[l] + j] + delta[l]);
            }
        }
    }
}
