package dev.gguflens.experiment;

import dev.gguflens.experiment.CompareReport.LayerComparison;
import dev.gguflens.lens.ReferenceLens;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** The per-layer comparison metrics against direct double-precision computations and hand-made cases. */
class ComparisonMetricsTest {

    private static float[] logProbs(double[] logits) {
        double[] lp = ReferenceLens.logSoftmax(logits);
        float[] out = new float[lp.length];
        for (int i = 0; i < lp.length; i++) out[i] = (float) lp[i];
        return out;
    }

    @Test
    void klMatchesDoublePrecisionReferenceAndIsExactlyZeroForIdenticalRows() {
        Random random = new Random(3);
        for (int trial = 0; trial < 5; trial++) {
            int vocab = 1000 + trial * 777;
            double[] p = new double[vocab], q = new double[vocab];
            for (int i = 0; i < vocab; i++) {
                p[i] = random.nextGaussian() * 3;
                q[i] = p[i] + random.nextGaussian() * 0.5 * trial;
            }
            double expectedBits = ReferenceLens.klNats(p, q) / Math.log(2);
            double actual = ComparisonMetrics.klBits(logProbs(p), logProbs(q));
            assertEquals(expectedBits, actual, 1e-5 + 1e-5 * expectedBits, "trial " + trial);
            float[] same = logProbs(p);
            assertEquals(0.0, ComparisonMetrics.klBits(same, same.clone()), "KL of a row with itself must be exactly 0");
        }
    }

    @Test
    void klOfKnownTwoTokenDistributions() {
        // p = (1/2, 1/2), q = (1/4, 3/4): KL = 1/2 log2(2) + 1/2 log2(2/3) = 1 - 0.5 log2(3)
        float[] p = {(float) Math.log(0.5), (float) Math.log(0.5)};
        float[] q = {(float) Math.log(0.25), (float) Math.log(0.75)};
        assertEquals(1 - 0.5 * Math.log(3) / Math.log(2), ComparisonMetrics.klBits(p, q), 1e-6);
        // a zero-probability token of p contributes nothing
        float[] delta = {0f, Float.NEGATIVE_INFINITY};
        assertEquals(2.0, ComparisonMetrics.klBits(delta, q), 1e-6);
        assertThrows(IllegalArgumentException.class, () -> ComparisonMetrics.klBits(p, new float[3]));
    }

    @Test
    void topIdsJaccardAndTop1FollowTheirDefinitions() {
        float[] row = {0.5f, 3f, 3f, -1f, 2f, 3f};
        assertArrayEquals(new int[] {1, 2, 5}, ComparisonMetrics.topIds(row, 3), "ties: lower id first");
        assertArrayEquals(new int[] {1, 2, 5, 4, 0, 3}, ComparisonMetrics.topIds(row, 10));
        assertEquals(1, ComparisonMetrics.argmax(row));
        Random random = new Random(5);
        double[] z = new double[3000];
        for (int i = 0; i < z.length; i++) z[i] = Math.round(random.nextGaussian() * 20) / 4.0;   // many ties
        float[] f = new float[z.length];
        for (int i = 0; i < z.length; i++) f[i] = (float) z[i];
        assertArrayEquals(ReferenceLens.topIds(z, 25), ComparisonMetrics.topIds(f, 25));

        assertEquals(1.0, ComparisonMetrics.jaccard(new int[] {1, 2, 3}, new int[] {3, 2, 1}));
        assertEquals(2.0 / 4.0, ComparisonMetrics.jaccard(new int[] {1, 2, 3}, new int[] {2, 3, 4}));
        assertEquals(0.0, ComparisonMetrics.jaccard(new int[] {1}, new int[] {2}));
        assertEquals(1.0, ComparisonMetrics.jaccard(new int[0], new int[0]));
    }

    @Test
    void cosineAndTheCombinedRecord() {
        assertEquals(1.0, ComparisonMetrics.cosine(new float[] {1, 2, 3}, new float[] {2, 4, 6}), 1e-12);
        assertEquals(0.0, ComparisonMetrics.cosine(new float[] {1, 0}, new float[] {0, 5}), 1e-12);
        assertEquals(-1.0, ComparisonMetrics.cosine(new float[] {1, 1}, new float[] {-2, -2}), 1e-12);
        assertEquals(0.0, ComparisonMetrics.cosine(new float[] {0, 0}, new float[] {1, 1}));

        float[] variant = {(float) Math.log(0.7), (float) Math.log(0.2), (float) Math.log(0.1)};
        float[] reference = {(float) Math.log(0.1), (float) Math.log(0.3), (float) Math.log(0.6)};
        LayerComparison c = ComparisonMetrics.compare(4, variant, reference, 2, new float[] {1, 0}, new float[] {1, 1});
        assertEquals(4, c.layer());
        assertFalse(c.top1Agree());
        assertEquals(0, c.top1Id());
        assertEquals(2, c.referenceTop1Id());
        assertEquals(1.0 / 3.0, c.topKJaccard(), 1e-12);   // {0,1} vs {2,1}
        assertEquals(Math.sqrt(0.5), c.residualCosine(), 1e-12);
        double kl = (0.7 * Math.log(7) + 0.2 * Math.log(2 / 3.0) + 0.1 * Math.log(1 / 6.0)) / Math.log(2);
        assertEquals(kl, c.klBits(), 1e-6);
    }
}
