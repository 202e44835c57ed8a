package dev.gguflens.lens;

/**
 * The residual stream of one prompt position around every block, as llama.cpp computed it.
 *
 * @param residual n_layer + 1 states: [0] enters block 0 (the scaled embedding), [i + 1] leaves block i
 * @param mid      n_layer states: the residual after block i's attention has been added and before its MLP
 *                 (llama.cpp's {@code ffn_inp-i}, or {@code sa_out-i} in Gemma-2/3)
 * @param heads    n_layer rows: block i's attention heads' outputs before the output projection, concatenated
 *                 (llama.cpp's {@code kqv_out-i}, head h in columns h*headDim ..)
 */
public record ResidualSites(float[][] residual, float[][] mid, float[][] heads) {
    public ResidualSites {
        int blocks = mid.length;
        if (residual.length != blocks + 1 || heads.length != blocks) {
            throw new IllegalArgumentException(residual.length + " residual states, " + mid.length + " mid-block states and "
                    + heads.length + " head rows do not describe n_layer + 1, n_layer, n_layer");
        }
        if (blocks == 0) throw new IllegalArgumentException("no blocks");
        int width = residual[0].length;
        for (float[] r : residual) requireWidth(r, width, "residual state");
        for (float[] m : mid) requireWidth(m, width, "mid-block state");
        for (float[] h : heads) {
            if (h == null || h.length != heads[0].length) throw new IllegalArgumentException("head rows differ in width");
        }
    }

    private static void requireWidth(float[] v, int width, String what) {
        if (v == null || v.length != width) {
            throw new IllegalArgumentException("a " + what + " has " + (v == null ? "no" : v.length) + " values, expected " + width);
        }
    }

    public int blocks() {
        return mid.length;
    }
}
