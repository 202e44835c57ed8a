package dev.gguflens.lens;

/**
 * llama.cpp's rotation of a quantised V cache. With a quantised V type and a V head size that is a multiple of 64,
 * the pinned llama.cpp multiplies V by the orthonormal 64 x 64 Walsh-Hadamard matrix H (Sylvester order,
 * {@code H[i][j] = (-1)^popcount(i & j) / 8}) block by block before storing it (quantisation error then spreads over
 * the block), so the attention's output {@code kqv_out} is in the rotated basis and the graph multiplies it by H
 * again (H H = I) right after, before the output projection (src/llama-graph.cpp, build_attn; llama-kv-cache.cpp,
 * attn_rot_v and build_input_v_rot). The environment variable {@code LLAMA_ATTN_ROT_DISABLE} (non-zero) turns it off.
 * Per-head attribution needs {@code kqv_out} in the model's own basis: {@link #unrotated} applies H to every block of
 * 64 values. Blocks never straddle heads (the head size is a multiple of 64), so each head's slice stays its own.
 */
public final class HadamardRotation {
    /** The rotated block: llama.cpp's V rotation matrix is always 64 x 64 (build_input_v_rot). */
    public static final int BLOCK = 64;
    /** 1 / sqrt(64), exact in float. */
    private static final float NORM = 0.125f;

    private HadamardRotation() {}

    /** Whether llama.cpp rotates V for this cache: a quantised V type, a head size that is a multiple of 64, not disabled. */
    public static boolean llamaRotatesV(boolean quantizedV, int headDimV) {
        return quantizedV && headDimV > 0 && headDimV % BLOCK == 0 && !disabledByEnvironment(System.getenv("LLAMA_ATTN_ROT_DISABLE"));
    }

    /** llama.cpp reads the variable with atoi: a leading integer other than 0 disables the rotation. */
    static boolean disabledByEnvironment(String value) {
        if (value == null) return false;
        String s = value.strip();
        int end = 0;
        if (end < s.length() && (s.charAt(end) == '-' || s.charAt(end) == '+')) end++;
        int digits = end;
        while (end < s.length() && Character.isDigit(s.charAt(end))) end++;
        if (end == digits) return false;
        try {
            return Long.parseLong(s.substring(0, end)) != 0;
        } catch (NumberFormatException e) {
            return true;   // more digits than a long: certainly not 0
        }
    }

    /** Each row with H applied to every block of 64 values (a fast Walsh-Hadamard transform, then the 1/8). */
    public static float[][] unrotated(float[][] rows) {
        float[][] out = new float[rows.length][];
        for (int r = 0; r < rows.length; r++) {
            float[] x = rows[r].clone();
            if (x.length % BLOCK != 0) {
                throw new IllegalArgumentException("a row of " + x.length + " values is not made of " + BLOCK + "-value blocks");
            }
            for (int b = 0; b < x.length; b += BLOCK) transform(x, b);
            out[r] = x;
        }
        return out;
    }

    private static void transform(float[] x, int offset) {
        for (int span = 1; span < BLOCK; span *= 2) {
            for (int i = 0; i < BLOCK; i += 2 * span) {
                for (int j = i; j < i + span; j++) {
                    float a = x[offset + j], b = x[offset + j + span];
                    x[offset + j] = a + b;
                    x[offset + j + span] = a - b;
                }
            }
        }
        for (int j = 0; j < BLOCK; j++) x[offset + j] *= NORM;
    }
}
