package dev.gguflens.lens;

import dev.gguflens.gguf.GgmlType;
import dev.gguflens.quant.ActivationRounding;

/**
 * The last-layer check, split into what is expected and what is not. llama.cpp's CPU head rounds the normed
 * activations to the output weight's vec_dot type (Q8_0 blocks, Q8_K blocks, F16, BF16 or none for F32;
 * {@link ActivationRounding}) while the lens keeps them in float, so the two differ by an amount that depends
 * on the model. This check recomputes the head with the activations rounded that way: the gap between that
 * and the float lens is the expected one ({@code expected*}); what remains between it and llama.cpp's logits
 * is unexplained ({@code unexplained*}: float summation order only, <= 2e-14 bits for a correct head on CPU).
 * A wrong norm, gamma, epsilon, bias or softcap shows up there, and {@link #warning()} fires.
 *
 * @param activationType          the vec_dot type the activations were rounded to
 * @param expectedKlBits          KL(rounded-activation head || float lens), bits
 * @param expectedMaxAbsLogitDiff max |rounded-activation logit - lens logit|
 * @param unexplainedKlBits       KL(llama.cpp || rounded-activation head), bits
 * @param unexplainedMaxAbsLogitDiff max |llama.cpp logit - rounded-activation logit|
 */
public record HeadConsistency(GgmlType activationType, double expectedKlBits, double expectedMaxAbsLogitDiff,
                              double unexplainedKlBits, double unexplainedMaxAbsLogitDiff) {
    /**
     * Above this unexplained KL the report warns. A correct head on CPU leaves <= 2e-14 bits (random qwen3 and
     * gemma2, F32 / Q8_0 / Q4_K_M); the mistakes HeadConsistencyTest makes on purpose leave 1e-4 to 1e-2 bits.
     * Calibrated on CPU: a GPU head rounds its activations its own way (CUDA: q8_1 blocks of 32 for every quant
     * type), which this check does not model.
     */
    public static final double WARNING_BITS = 1e-5;
    private static final double LN2 = Math.log(2);

    public boolean warning() {
        return !(unexplainedKlBits <= WARNING_BITS);   // NaN warns too
    }

    /**
     * The check for one position on its own: {@code state} the last layer's residual, {@code llamaLogits} llama.cpp's
     * logits there; one pass over the output weight for the two vectors. The lens folds the same check into its own
     * pass ({@link LensRequest#checkingHead()}), which already multiplies the normed state.
     */
    public static HeadConsistency of(LensHead head, float[] state, float[] llamaLogits, int threads) {
        int width = head.embeddingLength(), vocab = head.vocabularySize();
        if (state.length != width || llamaLogits.length != vocab) {
            throw new IllegalArgumentException("consistency check: state of " + state.length + " / logits of "
                    + llamaLogits.length + " for a head of n_embd " + width + ", n_vocab " + vocab);
        }
        float[] x = new float[2 * width];
        head.prepare(LensKind.NORM, state, 0, x, 0);
        System.arraycopy(roundedInput(head, x, 0), 0, x, width, width);
        double[] lens = new double[vocab], emulated = new double[vocab];
        int block = 8192;
        float[] y = new float[2 * block];
        for (int start = 0; start < vocab; start += block) {
            int n = Math.min(block, vocab - start);
            head.output().multiply(x, 2, start, start + n, y, threads);
            for (int j = 0; j < n; j++) {
                lens[start + j] = head.transformLogit(start + j, y[j]);
                emulated[start + j] = head.transformLogit(start + j, y[n + j]);
            }
        }
        return of(head, lens, emulated, llamaLogits);
    }

    /**
     * The NORM lens input {@code normed[offset .. offset + n_embd)} rounded as llama.cpp's CPU head rounds its
     * activations for this head's output weight: multiplied by the weight, it gives the emulated logits.
     */
    static float[] roundedInput(LensHead head, float[] normed, int offset) {
        GgmlType activation = ActivationRounding.vecDotType(head.output().weightType());
        return ActivationRounding.round(activation, java.util.Arrays.copyOfRange(normed, offset, offset + head.embeddingLength()));
    }

    /**
     * The check from whole rows of logits over the vocabulary: the float lens's ({@code lens}), the rounded
     * activations' ({@code emulated}, both after the head transform) and llama.cpp's.
     */
    static HeadConsistency of(LensHead head, double[] lens, double[] emulated, float[] llamaLogits) {
        int vocab = head.vocabularySize();
        if (lens.length != vocab || emulated.length != vocab || llamaLogits.length != vocab) {
            throw new IllegalArgumentException("consistency check: logits of " + lens.length + " / " + emulated.length
                    + " / " + llamaLogits.length + " for a head of n_vocab " + vocab);
        }
        GgmlType activation = ActivationRounding.vecDotType(head.output().weightType());
        double[] llama = new double[vocab];
        for (int i = 0; i < vocab; i++) llama[i] = llamaLogits[i];
        return new HeadConsistency(activation, klNats(emulated, lens) / LN2, maxAbsDiff(emulated, lens),
                klNats(llama, emulated) / LN2, maxAbsDiff(llama, emulated));
    }

    /** KL(softmax(p) || softmax(q)) in nats, clamped at 0 (it is >= 0 up to rounding). */
    static double klNats(double[] p, double[] q) {
        double lp = logSumExp(p), lq = logSumExp(q), kl = 0;
        for (int i = 0; i < p.length; i++) {
            double a = p[i] - lp;
            kl += Math.exp(a) * (a - (q[i] - lq));
        }
        return Math.max(0, kl);
    }

    private static double logSumExp(double[] z) {
        double max = Double.NEGATIVE_INFINITY;
        for (double v : z) max = Math.max(max, v);
        double sum = 0;
        for (double v : z) sum += Math.exp(v - max);
        return max + Math.log(sum);
    }

    private static double maxAbsDiff(double[] a, double[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
        return m;
    }
}
