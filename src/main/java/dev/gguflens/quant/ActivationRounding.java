package dev.gguflens.quant;

import dev.gguflens.gguf.GgmlType;

/**
 * How ggml's CPU matmul rounds the activation vector before the dot product with a weight of a given type: it
 * converts the activations to the weight type's "vec_dot type" (ggml-cpu.c, type_traits_cpu) and multiplies the
 * two in that form. Knowing it, a float lens can reproduce llama.cpp's own logits: the difference between the
 * two is then this rounding, not a mistake in the head.
 */
public final class ActivationRounding {
    private ActivationRounding() {}

    /** The type ggml's CPU backend converts activations to for a weight of {@code weight}'s type. */
    public static GgmlType vecDotType(GgmlType weight) {
        return switch (weight) {
            case F32 -> GgmlType.F32;
            case F16 -> GgmlType.F16;
            case BF16 -> GgmlType.BF16;
            case Q4_1, Q5_1, Q8_1 -> GgmlType.Q8_1;
            case Q1_0, Q2_0, Q4_0, Q5_0, Q8_0, MXFP4, NVFP4, IQ4_NL -> GgmlType.Q8_0;
            default -> GgmlType.Q8_K;   // the K-quants, the other i-quants, TQ1_0/TQ2_0
        };
    }

    /**
     * {@code x} as the dot product sees it after conversion to {@code vecDotType}, back in float. Q8_0 and
     * Q8_1 (the same values; Q8_1 also stores a block sum): blocks of 32, q = round-half-even(x * 127 / amax)
     * (ggml's AVX2 quantize_row_q8_0), value q * fp16(amax / 127). Q8_K: blocks of 256, the element of largest
     * magnitude m maps to -127, q = min(127, round-half-even(x * -127 / m)), value q / (-127 / m) in float.
     * A length that is not a whole number of blocks is refused (ggml requires it too).
     */
    public static float[] round(GgmlType vecDotType, float[] x) {
        float[] out = new float[x.length];
        switch (vecDotType) {
            case F32 -> System.arraycopy(x, 0, out, 0, x.length);
            case F16 -> {
                for (int i = 0; i < x.length; i++) out[i] = Float.float16ToFloat(Float.floatToFloat16(x[i]));
            }
            case BF16 -> {
                for (int i = 0; i < x.length; i++) out[i] = Float.intBitsToFloat(bf16Bits(x[i]) << 16);
            }
            case Q8_0, Q8_1 -> {
                requireBlocks(x.length, 32, vecDotType);
                for (int b = 0; b < x.length; b += 32) {
                    float amax = 0;
                    for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b + j]));
                    float d = Float.float16ToFloat(Float.floatToFloat16(amax / 127f));
                    float id = amax != 0 ? 127f / amax : 0f;
                    for (int j = 0; j < 32; j++) out[b + j] = (float) Math.rint(x[b + j] * id) * d;
                }
            }
            case Q8_K -> {
                requireBlocks(x.length, 256, vecDotType);
                for (int b = 0; b < x.length; b += 256) {
                    float amax = 0, max = 0;
                    for (int j = 0; j < 256; j++) {
                        float ax = Math.abs(x[b + j]);
                        if (ax > amax) {
                            amax = ax;
                            max = x[b + j];
                        }
                    }
                    if (amax == 0) continue;
                    float iscale = -127f / max;
                    float d = 1 / iscale;
                    for (int j = 0; j < 256; j++) out[b + j] = Math.min(127, (float) Math.rint(iscale * x[b + j])) * d;
                }
            }
            default -> throw new IllegalArgumentException(vecDotType + " is not an activation type of ggml's CPU matmul");
        }
        return out;
    }

    /** ggml_compute_fp32_to_bf16: round to nearest even; a NaN stays a (quiet) NaN. */
    private static int bf16Bits(float f) {
        int u = Float.floatToRawIntBits(f);
        if ((u & 0x7fffffff) > 0x7f800000) return (u >>> 16) | 64;
        return (u + (0x7fff + ((u >>> 16) & 1))) >>> 16;
    }

    private static void requireBlocks(int length, int block, GgmlType type) {
        if (length % block != 0) {
            throw new IllegalArgumentException("a vector of " + length + " values is not a whole number of " + type + " blocks of " + block);
        }
    }
}
