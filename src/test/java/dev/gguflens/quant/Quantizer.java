package dev.gguflens.quant;

import dev.gguflens.gguf.GgmlType;
import java.util.Objects;

/**
 * Encodes float32 rows into ggml blocks, byte-for-byte as ggml's reference quantisers
 * (quantize_row_*_ref in ggml-quants.c, fp32->f16/bf16 conversions of ggml-impl.h) do.
 * Supported targets: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, TQ1_0, TQ2_0. Test-only: it makes the blocks the
 * kernel and lens tests multiply (gguf-lens itself quantises models with llama.cpp's quantiser, llama/LlamaQuantizer).
 */
public final class Quantizer {
    private Quantizer() {
    }

    public static boolean supports(GgmlType target) {
        return switch (target) {
            case F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, TQ1_0, TQ2_0 -> true;
            default -> false;
        };
    }

    /** Encodes row-major float data (rows of {@code cols} values) into {@code target}'s block format. */
    public static byte[] quantize(GgmlType target, float[] data, int cols) {
        Objects.requireNonNull(target, "target");
        Objects.requireNonNull(data, "data");
        if (!supports(target)) {
            throw new UnsupportedTypeException(target, null);
        }
        if (cols <= 0 || data.length % cols != 0) {
            throw new IllegalArgumentException("quantize " + target + ": " + data.length
                    + " values are not a whole number of rows of " + cols);
        }
        if (cols % target.blockSize != 0) {
            throw new IllegalArgumentException("quantize " + target + ": row length " + cols
                    + " is not a multiple of the block size " + target.blockSize);
        }
        int blocks = data.length / target.blockSize;
        long size = (long) blocks * target.typeSize;
        if (size > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("quantize " + target + ": " + size + " bytes do not fit in one array");
        }
        byte[] out = new byte[(int) size];
        for (int b = 0; b < blocks; b++) {
            int x = b * target.blockSize;
            int o = b * target.typeSize;
            switch (target) {
                case F32 -> putI32(out, o, Float.floatToRawIntBits(data[x]));
                case F16 -> putI16(out, o, Float.floatToFloat16(data[x]));
                case BF16 -> putI16(out, o, toBf16(data[x]));
                case Q8_0 -> q8_0(data, x, out, o);
                case Q4_0 -> q4_0(data, x, out, o);
                case Q4_1 -> q4_1(data, x, out, o);
                case Q5_0 -> q5_0(data, x, out, o);
                case Q5_1 -> q5_1(data, x, out, o);
                case TQ1_0 -> tq1_0(data, x, out, o);
                case TQ2_0 -> tq2_0(data, x, out, o);
                default -> throw new UnsupportedTypeException(target, null);
            }
        }
        return out;
    }

    /** ggml_compute_fp32_to_bf16: round to nearest even; NaN stays NaN (forced quiet). */
    static short toBf16(float f) {
        int u = Float.floatToRawIntBits(f);
        if ((u & 0x7fffffff) > 0x7f800000) return (short) ((u >>> 16) | 64);
        return (short) ((u + (0x7fff + ((u >>> 16) & 1))) >>> 16);
    }

    /** C roundf/lroundf: halves away from zero (Math.round would send -2.5 to -2). */
    static int roundHalfAway(float v) {
        float a = Math.abs(v);
        float f = (float) Math.floor(a);
        if (a - f >= 0.5f) f += 1f;
        return (int) Math.copySign(f, v);
    }

    private static void putI16(byte[] out, int o, int v) {
        out[o] = (byte) v;
        out[o + 1] = (byte) (v >> 8);
    }

    private static void putI32(byte[] out, int o, int v) {
        putI16(out, o, v);
        putI16(out, o + 2, v >> 16);
    }

    private static void putF16(byte[] out, int o, float v) {
        putI16(out, o, Float.floatToFloat16(v));
    }

    /** The value of largest magnitude (first one on ties; 0 when all are zero), as ggml's q4_0/q5_0 pick it. */
    private static float signedAbsMax(float[] x, int from, int n) {
        float amax = 0f, max = 0f;
        for (int j = 0; j < n; j++) {
            float v = x[from + j];
            if (amax < Math.abs(v)) {
                amax = Math.abs(v);
                max = v;
            }
        }
        return max;
    }

    private static float absMax(float[] x, int from, int n) {
        float amax = 0f;
        for (int j = 0; j < n; j++) amax = Math.max(amax, Math.abs(x[from + j]));
        return amax;
    }

    private static void q8_0(float[] x, int b, byte[] out, int o) {
        float d = absMax(x, b, 32) / 127;
        float id = d != 0 ? 1.0f / d : 0.0f;
        putF16(out, o, d);
        for (int j = 0; j < 32; j++) out[o + 2 + j] = (byte) roundHalfAway(x[b + j] * id);
    }

    private static void q4_0(float[] x, int b, byte[] out, int o) {
        float d = signedAbsMax(x, b, 32) / -8;
        float id = d != 0 ? 1.0f / d : 0.0f;
        putF16(out, o, d);
        for (int j = 0; j < 16; j++) {
            int lo = Math.min(15, (int) (x[b + j] * id + 8.5f));
            int hi = Math.min(15, (int) (x[b + 16 + j] * id + 8.5f));
            out[o + 2 + j] = (byte) (lo | (hi << 4));
        }
    }

    private static void q4_1(float[] x, int b, byte[] out, int o) {
        float min = Float.MAX_VALUE, max = -Float.MAX_VALUE;
        for (int j = 0; j < 32; j++) {
            float v = x[b + j];
            if (v < min) min = v;
            if (v > max) max = v;
        }
        float d = (max - min) / 15;
        float id = d != 0 ? 1.0f / d : 0.0f;
        putF16(out, o, d);
        putF16(out, o + 2, min);
        for (int j = 0; j < 16; j++) {
            int lo = Math.min(15, (int) ((x[b + j] - min) * id + 0.5f));
            int hi = Math.min(15, (int) ((x[b + 16 + j] - min) * id + 0.5f));
            out[o + 4 + j] = (byte) (lo | (hi << 4));
        }
    }

    private static void q5_0(float[] x, int b, byte[] out, int o) {
        float d = signedAbsMax(x, b, 32) / -16;
        float id = d != 0 ? 1.0f / d : 0.0f;
        putF16(out, o, d);
        int qh = 0;
        for (int j = 0; j < 16; j++) {
            int lo = Math.min(31, (int) (x[b + j] * id + 16.5f));
            int hi = Math.min(31, (int) (x[b + 16 + j] * id + 16.5f));
            out[o + 6 + j] = (byte) ((lo & 0xF) | ((hi & 0xF) << 4));
            qh |= ((lo >> 4) & 1) << j;
            qh |= ((hi >> 4) & 1) << (j + 16);
        }
        putI32(out, o + 2, qh);
    }

    private static void q5_1(float[] x, int b, byte[] out, int o) {
        float min = Float.MAX_VALUE, max = -Float.MAX_VALUE;
        for (int j = 0; j < 32; j++) {
            float v = x[b + j];
            if (v < min) min = v;
            if (v > max) max = v;
        }
        float d = (max - min) / 31;
        float id = d != 0 ? 1.0f / d : 0.0f;
        putF16(out, o, d);
        putF16(out, o + 2, min);
        int qh = 0;
        for (int j = 0; j < 16; j++) {
            int lo = (int) ((x[b + j] - min) * id + 0.5f);
            int hi = (int) ((x[b + 16 + j] - min) * id + 0.5f);
            out[o + 8 + j] = (byte) ((lo & 0xF) | ((hi & 0xF) << 4));
            qh |= ((lo >> 4) & 1) << j;
            qh |= ((hi >> 4) & 1) << (j + 16);
        }
        putI32(out, o + 4, qh);
    }

    /** Ternary digit 0..2 of one value (-1, 0, 1 scaled by the block's absolute maximum). */
    private static int trit(float v, float id) {
        return roundHalfAway(v * id) + 1;
    }

    private static void tq1_0(float[] x, int b, byte[] out, int o) {
        float d = absMax(x, b, 256);
        float id = d != 0 ? 1.0f / d : 0.0f;
        int e = b;
        // 32 bytes of 5 trits each (values m + 32n), then 16 bytes (m + 16n), then 4 bytes of 4 trits (j + 4m).
        for (int m = 0; m < 32; m++) {
            int q = 0;
            for (int n = 0; n < 5; n++) q = q * 3 + trit(x[e + m + 32 * n], id);
            out[o + m] = (byte) ((q * 256 + 242) / 243);
        }
        e += 160;
        for (int m = 0; m < 16; m++) {
            int q = 0;
            for (int n = 0; n < 5; n++) q = q * 3 + trit(x[e + m + 16 * n], id);
            out[o + 32 + m] = (byte) ((q * 256 + 242) / 243);
        }
        e += 80;
        for (int j = 0; j < 4; j++) {
            int q = 0;
            for (int m = 0; m < 4; m++) q = q * 3 + trit(x[e + j + 4 * m], id);
            q *= 3;  // the first value goes to the most significant of 5 trits
            out[o + 48 + j] = (byte) ((q * 256 + 242) / 243);
        }
        putF16(out, o + 52, d);
    }

    private static void tq2_0(float[] x, int b, byte[] out, int o) {
        float d = absMax(x, b, 256);
        float id = d != 0 ? 1.0f / d : 0.0f;
        for (int j = 0; j < 2; j++) {
            for (int m = 0; m < 32; m++) {
                int q = 0;
                for (int n = 0; n < 4; n++) q |= trit(x[b + 128 * j + 32 * n + m], id) << (2 * n);
                out[o + 32 * j + m] = (byte) q;
            }
        }
        putF16(out, o + 64, d);
    }
}
