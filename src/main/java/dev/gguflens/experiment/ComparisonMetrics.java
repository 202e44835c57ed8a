package dev.gguflens.experiment;

import dev.gguflens.experiment.CompareReport.LayerComparison;

import java.util.Arrays;
import java.util.Comparator;
import java.util.PriorityQueue;

/**
 * One layer of a variant against the same layer of the reference, from the two lenses' full log-probability
 * rows (float32, natural log) and the two residual states. Computed from stored rows rather than inside the
 * streaming lens pass so that a model compared with itself gives exactly 0 (every term p (a - b) has a == b).
 */
public final class ComparisonMetrics {
    private static final double LN2 = Math.log(2.0);

    private ComparisonMetrics() {}

    public static LayerComparison compare(int layer, float[] variantLogProbs, float[] referenceLogProbs, int topK,
                                          float[] variantResidual, float[] referenceResidual) {
        int top1 = argmax(variantLogProbs);
        int refTop1 = argmax(referenceLogProbs);
        return new LayerComparison(layer, klBits(variantLogProbs, referenceLogProbs), top1 == refTop1, top1, refTop1,
                jaccard(topIds(variantLogProbs, topK), topIds(referenceLogProbs, topK)),
                cosine(variantResidual, referenceResidual));
    }

    /** KL(p || q) in bits from natural-log probability rows; terms with p = 0 contribute nothing. */
    public static double klBits(float[] logP, float[] logQ) {
        if (logP.length != logQ.length) {
            throw new IllegalArgumentException("KL: rows of " + logP.length + " and " + logQ.length + " tokens");
        }
        double sum = 0;
        for (int i = 0; i < logP.length; i++) {
            double lp = logP[i];
            if (lp == Double.NEGATIVE_INFINITY) continue;
            sum += Math.exp(lp) * (lp - (double) logQ[i]);
        }
        return Math.max(0.0, sum) / LN2;   // a tiny negative total is float rounding of the stored rows
    }

    /** The index of the largest value; the lowest index among equal values. */
    public static int argmax(float[] row) {
        int best = 0;
        for (int i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
        return best;
    }

    /** The k largest values' indexes, largest first; equal values: lower index first. */
    public static int[] topIds(float[] row, int k) {
        Comparator<Integer> worstFirst = Comparator.<Integer>comparingDouble(i -> row[i]).thenComparing(i -> -i);
        PriorityQueue<Integer> heap = new PriorityQueue<>(worstFirst);
        float threshold = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < row.length; i++) {
            if (heap.size() == k && row[i] < threshold) continue;   // cheap reject: most tokens
            if (heap.size() < k) heap.add(i);
            else if (worstFirst.compare(i, heap.peek()) > 0) {
                heap.poll();
                heap.add(i);
            }
            if (heap.size() == k) threshold = row[heap.peek()];
        }
        int[] out = new int[heap.size()];
        for (int j = out.length - 1; j >= 0; j--) out[j] = heap.poll();
        return out;
    }

    /** |A n B| / |A u B| of two id sets (1 for two empty sets). */
    public static double jaccard(int[] a, int[] b) {
        int[] x = Arrays.stream(a).distinct().sorted().toArray();
        int[] y = Arrays.stream(b).distinct().sorted().toArray();
        int common = 0;
        for (int v : x) if (Arrays.binarySearch(y, v) >= 0) common++;
        int union = x.length + y.length - common;
        return union == 0 ? 1.0 : (double) common / union;
    }

    /** Cosine of two vectors in double; 0 when either is all zeros. */
    public static double cosine(float[] a, float[] b) {
        if (a.length != b.length) throw new IllegalArgumentException("cosine: vectors of " + a.length + " and " + b.length);
        double dot = 0, aa = 0, bb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
            aa += (double) a[i] * a[i];
            bb += (double) b[i] * b[i];
        }
        return aa == 0 || bb == 0 ? 0.0 : dot / Math.sqrt(aa * bb);
    }
}
