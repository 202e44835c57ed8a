package dev.gguflens.lens;

import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * The lens computed the obvious way, for checking {@link LogitLens}: double precision everywhere, the whole
 * dequantised output weight at once, full logit vectors, softmax then sums. Shares nothing with the
 * streaming code except reading the head's fields.
 */
public final class ReferenceLens {
    private final LensHead head;
    private final double[][] weight;   // [vocab][embd]

    public ReferenceLens(LensHead head) {
        this.head = head;
        int vocab = head.vocabularySize();
        int width = head.embeddingLength();
        float[] rows = head.output().dequantizeRows(0, vocab);
        weight = new double[vocab][width];
        for (int r = 0; r < vocab; r++) for (int c = 0; c < width; c++) weight[r][c] = rows[r * width + c];
    }

    /** Lens input in double. */
    double[] prepare(LensKind kind, float[] state) {
        double[] h = new double[state.length];
        for (int i = 0; i < h.length; i++) h[i] = state[i];
        return prepare(kind, h);
    }

    /** Lens input for a state already in double (e.g. from a double-precision forward pass). */
    double[] prepare(LensKind kind, double[] h) {
        int n = h.length;
        double[] out = new double[n];
        switch (kind) {
            case RAW -> System.arraycopy(h, 0, out, 0, n);
            case RMS -> {
                double rms = Math.sqrt(IntStream.range(0, n).mapToDouble(i -> h[i] * h[i]).sum() / n + head.epsilon());
                for (int i = 0; i < n; i++) out[i] = h[i] / rms;
            }
            case NORM -> {
                if (head.norm() == NormKind.RMS_NORM) {
                    double rms = Math.sqrt(IntStream.range(0, n).mapToDouble(i -> h[i] * h[i]).sum() / n + head.epsilon());
                    for (int i = 0; i < n; i++) out[i] = h[i] / rms * head.normWeight()[i];
                } else {
                    double mean = IntStream.range(0, n).mapToDouble(i -> h[i]).sum() / n;
                    double var = IntStream.range(0, n).mapToDouble(i -> (h[i] - mean) * (h[i] - mean)).sum() / n;
                    for (int i = 0; i < n; i++) out[i] = (h[i] - mean) / Math.sqrt(var + head.epsilon()) * head.normWeight()[i];
                }
                if (head.normBias() != null) for (int i = 0; i < n; i++) out[i] += head.normBias()[i];
            }
        }
        return out;
    }

    /** Full logits, head transform included. */
    public double[] logits(LensKind kind, float[] h) {
        return logitsOf(prepare(kind, h));
    }

    /** Full logits of a double-precision state. */
    public double[] logits(LensKind kind, double[] h) {
        return logitsOf(prepare(kind, h));
    }

    private double[] logitsOf(double[] x) {
        double[] z = new double[weight.length];
        for (int r = 0; r < z.length; r++) {
            double dot = 0;
            for (int c = 0; c < x.length; c++) dot += weight[r][c] * x[c];
            if (head.outputBias() != null) dot += head.outputBias()[r];
            if (head.logitScale().isPresent()) dot *= head.logitScale().getAsDouble();
            if (head.softcap().isPresent()) {
                double cap = head.softcap().getAsDouble();
                dot = cap * Math.tanh(dot / cap);
            }
            z[r] = dot;
        }
        return z;
    }

    public static double[] logSoftmax(double[] z) {
        double max = Arrays.stream(z).max().orElseThrow();
        double sum = 0;
        for (double v : z) sum += Math.exp(v - max);
        double lse = max + Math.log(sum);
        return Arrays.stream(z).map(v -> v - lse).toArray();
    }

    public static double entropyNats(double[] z) {
        double[] lp = logSoftmax(z);
        double h = 0;
        for (double l : lp) h -= Math.exp(l) * l;
        return h;
    }

    /** KL(p || q) in nats for logits p, q. */
    public static double klNats(double[] p, double[] q) {
        double[] lp = logSoftmax(p), lq = logSoftmax(q);
        double kl = 0;
        for (int i = 0; i < lp.length; i++) kl += Math.exp(lp[i]) * (lp[i] - lq[i]);
        return kl;
    }

    static double cosine(double[] a, double[] b) {
        double dot = 0, aa = 0, bb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += a[i] * b[i];
            aa += a[i] * a[i];
            bb += b[i] * b[i];
        }
        return dot / Math.sqrt(aa * bb);
    }

    /** 1 + number of other tokens with a strictly greater logit. */
    public static int rank(double[] z, int id) {
        int greater = 0;
        for (int i = 0; i < z.length; i++) if (i != id && z[i] > z[id]) greater++;
        return greater + 1;
    }

    /** 1 + the number of other ids whose logit exceeds this one's by more than {@code margin} (may be negative). */
    public static int rank(double[] z, int id, double margin) {
        int greater = 0;
        for (int i = 0; i < z.length; i++) if (i != id && z[i] > z[id] + margin) greater++;
        return greater + 1;
    }

    /** Ids by descending logit, ties by ascending id. */
    public static int[] topIds(double[] z, int k) {
        return IntStream.range(0, z.length).boxed()
                .sorted(Comparator.<Integer>comparingDouble(i -> -z[i]).thenComparingInt(i -> i))
                .limit(k).mapToInt(Integer::intValue).toArray();
    }

    public static double probability(double[] z, int id) {
        return Math.exp(logSoftmax(z)[id]);
    }
}
