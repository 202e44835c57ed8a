package dev.gguflens.lens;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The statistics pass's own e^(z-m) against Math.exp (within 2 ulp, over the whole non-positive range
 * including the subnormal fallback below -708), and every vector lane bit for bit equal to the scalar
 * version used for block tails, whatever offset and length a block has.
 */
class RowStatisticsExpTest {
    @Test
    void matchesMathExpAndScalarTailBitForBit() {
        Random rnd = new Random(7);
        int n = 100_003;
        double[] z = new double[n + 5];
        for (int i = 0; i < z.length; i++) {
            z[i] = switch (i % 4) {
                case 0 -> -rnd.nextDouble() * 800;   // down into the subnormal and zero results
                case 1 -> -rnd.nextDouble() * 1e-6;  // tiny arguments: k = 0
                default -> rnd.nextGaussian() * 6;
            };
        }
        double m = 30;   // z - m <= 0 as in the lens
        for (int off : new int[] {0, 3}) {
            double[] out = new double[n];
            RowStatistics.expOfDifference(z, off, m, out, n);
            for (int j = 0; j < n; j++) {
                double x = z[off + j] - m;
                double exact = Math.exp(x);
                assertEquals(Double.doubleToLongBits(RowStatistics.exp(x)), Double.doubleToLongBits(out[j]),
                        "lane and scalar differ at x = " + x);
                double ulps = exact == 0 ? (out[j] == 0 ? 0 : Double.POSITIVE_INFINITY) : Math.abs(out[j] - exact) / Math.ulp(exact);
                assertTrue(ulps <= 2, "e^" + x + ": got " + out[j] + ", Math.exp " + exact + " (" + ulps + " ulp)");
            }
        }
        assertTrue(Double.isNaN(RowStatistics.exp(Double.NaN)));
        assertEquals(0.0, RowStatistics.exp(Double.NEGATIVE_INFINITY));
        assertEquals(1.0, RowStatistics.exp(0.0));
    }
}
