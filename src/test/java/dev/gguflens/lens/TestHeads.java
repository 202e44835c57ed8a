package dev.gguflens.lens;

import java.util.OptionalDouble;
import java.util.Random;

/** Random heads and residual states for lens tests. */
final class TestHeads {
    private TestHeads() {}

    static float[] gaussian(Random random, int n, double scale) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) out[i] = (float) (random.nextGaussian() * scale);
        return out;
    }

    static LensHead randomHead(Random random, NormKind norm, int vocab, int width, boolean biases,
                               OptionalDouble logitScale, OptionalDouble softcap) {
        float[] weight = gaussian(random, vocab * width, 0.3);
        float[] gamma = new float[width];
        for (int i = 0; i < width; i++) gamma[i] = (float) (1.0 + 0.5 * random.nextGaussian());
        float[] normBias = biases ? gaussian(random, width, 0.2) : null;
        float[] outputBias = biases ? gaussian(random, vocab, 0.5) : null;
        return new LensHead("test", norm, gamma, normBias, 1e-5f, LogitProjection.ofRowMajor(weight, vocab, width),
                outputBias, logitScale, softcap);
    }

    /** States whose norm grows with depth and whose direction drifts, like a real residual stream. */
    static float[][][] randomStates(Random random, int layers, int positions, int width) {
        float[][][] states = new float[layers][positions][];
        for (int p = 0; p < positions; p++) {
            float[] h = gaussian(random, width, 1.0);
            for (int layer = 0; layer < layers; layer++) {
                float[] step = gaussian(random, width, 1.0 + layer);
                float[] next = new float[width];
                for (int i = 0; i < width; i++) next[i] = h[i] + step[i];
                states[layer][p] = next;
                h = next;
            }
        }
        return states;
    }

    /** A head whose output weight is the identity, so with the RAW lens the logits are the state itself. */
    static LensHead identityHead(int size, OptionalDouble logitScale, OptionalDouble softcap) {
        float[] weight = new float[size * size];
        for (int i = 0; i < size; i++) weight[i * size + i] = 1f;
        float[] gamma = new float[size];
        java.util.Arrays.fill(gamma, 1f);
        return new LensHead("test", NormKind.RMS_NORM, gamma, null, 0f, LogitProjection.ofRowMajor(weight, size, size),
                null, logitScale, softcap);
    }
}
