package dev.gguflens.lens;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.Comparator;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * The vectorised statistics pass fed in blocks of awkward sizes, each block copied into a buffer whose
 * following elements are huge (so reading past a block's end would change the top-k or the ranks), against
 * brute force over the whole row: top-k ids, tracked ranks, log-sum-exp and max |z - f|.
 */
class RowStatisticsBlocksTest {
    @Test
    void blockedStatisticsMatchBruteForce() {
        Random rnd = new Random(3);
        int vocab = 5000;
        double[] z = new double[vocab], f = new double[vocab];
        for (int i = 0; i < vocab; i++) {
            z[i] = Math.rint(rnd.nextGaussian() * 40) / 8;   // coarse values: many ties
            f[i] = rnd.nextGaussian() * 3;
        }
        int[] trackedIds = {0, 17, 4999};
        double[] trackedLogits = {z[0], z[17], z[4999]};
        Integer[] order = IntStream.range(0, vocab).boxed().toArray(Integer[]::new);
        Arrays.sort(order, Comparator.<Integer>comparingDouble(i -> -z[i]).thenComparingInt(i -> i));
        int[] expectedTop = Arrays.stream(order).limit(10).mapToInt(Integer::intValue).toArray();
        double max = Arrays.stream(z).max().orElseThrow(), sum = 0, mad = 0;
        for (int i = 0; i < vocab; i++) {
            sum += Math.exp(z[i] - max);
            mad = Math.max(mad, Math.abs(z[i] - f[i]));
        }
        for (int block : new int[] {1, 7, 13, 100, 1021, 8192}) {
            RowStatistics stats = new RowStatistics(10, trackedIds, trackedLogits);
            for (int start = 0; start < vocab; start += block) {
                int n = Math.min(block, vocab - start);
                double[] zb = new double[3 + n + 16], fb = new double[5 + n + 16];
                Arrays.fill(zb, 1e9);
                Arrays.fill(fb, -1e9);
                System.arraycopy(z, start, zb, 3, n);
                System.arraycopy(f, start, fb, 5, n);
                stats.accept(zb, 3, fb, 5, n, start);
            }
            assertArrayEquals(expectedTop, stats.top().sortedIds(), "top-k, block " + block);
            for (int k = 0; k < trackedIds.length; k++) {
                int id = trackedIds[k];
                long greater = IntStream.range(0, vocab).filter(i -> i != id && z[i] > z[id]).count();
                assertEquals(1 + greater, stats.trackedRank(k), "rank of " + id + ", block " + block);
            }
            assertEquals(max + Math.log(sum), stats.logSumExp(), 1e-12, "log-sum-exp, block " + block);
            assertEquals(mad, stats.maxAbsDiff(), 0.0, "max |z - f|, block " + block);
        }
    }

    /** Ranks where z - tracked is one ulp, subnormal, zero or overflows (128-bit vectors count by the sign of a difference). */
    @Test
    void ranksAtExtremeDifferences() {
        double[] z = {1.0, Math.nextUp(1.0), Math.nextDown(1.0), Double.MIN_VALUE, -Double.MIN_VALUE, 0.0, -0.0,
                1e308, -1e308, Double.MAX_VALUE, -Double.MAX_VALUE, 1.0, 2 * Double.MIN_VALUE, Math.nextUp(1e308),
                -Math.nextUp(1e308), 3.0, Math.nextDown(Double.MIN_NORMAL)};
        int[] ids = IntStream.range(0, z.length).toArray();
        RowStatistics stats = new RowStatistics(3, ids, z.clone());
        stats.accept(z, 0, z, 0, z.length, 0);
        for (int k = 0; k < z.length; k++) {
            int id = k;
            long greater = IntStream.range(0, z.length).filter(i -> i != id && z[i] > z[id]).count();
            assertEquals(1 + greater, stats.trackedRank(k), "rank of " + z[k]);
        }
    }
}
