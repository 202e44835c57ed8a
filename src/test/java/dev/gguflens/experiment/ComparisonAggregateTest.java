package dev.gguflens.experiment;

import dev.gguflens.experiment.CompareReport.Layer;
import dev.gguflens.experiment.CompareReport.LayerComparison;
import dev.gguflens.experiment.CompareReport.PromptResult;
import dev.gguflens.experiment.CompareReport.Stat;
import dev.gguflens.experiment.CompareReport.VariantSummary;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Suite aggregation through {@link ComparisonAggregate} on hand-made results whose statistics are known. */
class ComparisonAggregateTest {
    private static final int LAYERS = 3;

    /** A prompt result with the given milestones, per-layer KLs, flips and expected-answer ranks. */
    private static PromptResult result(int prompt, Integer rank1, Integer rank5, Integer kl1, double[] kl, boolean[] flip,
                                       int[] ranks, ProbeReport.Milestones reference) {
        List<Layer> layers = new ArrayList<>();
        for (int l = 0; l < LAYERS; l++) {
            List<ProbeReport.Expected> expected = ranks == null ? List.of()
                    : List.of(new ProbeReport.Expected("x", 7, "x", ranks[l], 0.1));
            ProbeReport.LayerEntry entry = new ProbeReport.LayerEntry(l, 1, 1 / Math.log(2),
                    List.of(new ProbeReport.TopToken(7, "x", 0.5)), expected, 0.5, 0.9, 10);
            layers.add(new Layer(entry, new LayerComparison(l, kl[l], !flip[l], 7, flip[l] ? 8 : 7, 1, 1)));
        }
        ProbeReport.Milestones m = milestones(rank1, rank5, kl1);
        return new PromptResult(prompt, layers, m, ComparisonAggregate.shift(m, reference == null ? m : reference));
    }

    private static ProbeReport.Milestones milestones(Integer rank1, Integer rank5, Integer kl1) {
        return new ProbeReport.Milestones(ms(rank1), ms(rank5), ms(rank5), ms(kl1), ms(kl1), ms(null), null);
    }

    private static ProbeReport.Milestone ms(Integer layer) {
        return layer == null ? ProbeReport.Milestone.never() : new ProbeReport.Milestone(layer, layer / 2.0);
    }

    @Test
    void medianIqrMeanKlFlipRateAndShiftsOfAHandMadeSuite() {
        // Reference: rank-1 layers 1, 1, 2, 2, never; rank<=5 always 0; KL<1 bit: 2 everywhere.
        Integer[] refRank1 = {1, 1, 2, 2, null};
        // Variant: rank-1 layers 1, 2, 2, never, 2 -> sorted 1, 2, 2, 2, inf: q1 = 2, median 2, q3 = 2.
        Integer[] varRank1 = {1, 2, 2, null, 2};
        // Variant rank<=5: 0, 0, 1, 2, 2 -> q1 = 0, median 1, q3 = 2, IQR 2.
        Integer[] varRank5 = {0, 0, 1, 2, 2};
        double[][] kl = {{0.4, 0.2, 0.0}, {0.6, 0.4, 0.1}, {0.2, 0.0, 0.2}, {0.8, 0.6, 0.1}, {1.0, 0.8, 0.1}};
        boolean[][] flips = {{true, false, false}, {true, true, false}, {false, false, false}, {true, false, false},
            {true, true, true}};
        int[][] ranks = {{50, 3, 1}, {40, 2, 1}, {30, 1, 1}, {20, 9, 4}, {10, 5, 1}};
        List<PromptResult> reference = new ArrayList<>();
        List<PromptResult> variant = new ArrayList<>();
        double[] zeros = new double[LAYERS];
        boolean[] none = new boolean[LAYERS];
        for (int p = 0; p < 5; p++) {
            PromptResult ref = result(p, refRank1[p], 0, 2, zeros, none, ranks[p], null);
            reference.add(ref);
            variant.add(result(p, varRank1[p], varRank5[p], 2, kl[p], flips[p], ranks[p], ref.milestones()));
        }
        VariantSummary s = ComparisonAggregate.summarize("v", variant, reference);

        assertArrayEquals(new double[] {0.6, 0.4, 0.1}, s.meanKlBits(), 1e-12);
        assertEquals((0.6 + 0.4 + 0.1) / 3, s.meanKlAllLayersBits(), 1e-12);
        assertArrayEquals(new double[] {0.8, 0.4, 0.2}, s.top1FlipRate(), 1e-12);
        assertArrayEquals(new Double[] {30.0, 3.0, 1.0}, s.medianExpectedRank());

        assertStat(s.milestones().firstRank1(), 5, 4, 2.0, 2.0, 2.0, 0.0);
        assertStat(s.milestones().firstRankLe5(), 5, 5, 0.0, 1.0, 2.0, 2.0);
        assertStat(s.milestones().firstKlBelow1Bit(), 5, 5, 2.0, 2.0, 2.0, 0.0);
        // Rank-1 shifts: prompt 4 has no reference milestone and is left out; prompts 0..3: 0, +1, 0, never.
        // Sorted 0, 0, 1, inf: q1 = 0, median = 0.5, q3 needs inf -> absent.
        assertStat(s.shifts().firstRank1(), 4, 3, 0.0, 0.5, null, null);
        // Rank<=5 shifts against reference 0: 0, 0, 1, 2, 2.
        assertStat(s.shifts().firstRankLe5(), 5, 5, 0.0, 1.0, 2.0, 2.0);

        VariantSummary self = ComparisonAggregate.summarize("ref", reference, reference);
        assertArrayEquals(zeros, self.meanKlBits());
        assertArrayEquals(zeros, self.top1FlipRate());
        assertStat(self.shifts().firstRank1(), 4, 4, 0.0, 0.0, 0.0, 0.0);
    }

    @Test
    void mostlyNeverReachedGivesNoMedianAndMismatchedSuitesAreRefused() {
        List<PromptResult> reference = new ArrayList<>();
        List<PromptResult> variant = new ArrayList<>();
        double[] zeros = new double[LAYERS];
        boolean[] none = new boolean[LAYERS];
        Integer[] rank1 = {1, null, null, null};
        for (int p = 0; p < 4; p++) {
            reference.add(result(p, 1, 1, 1, zeros, none, null, null));
            variant.add(result(p, rank1[p], 1, 1, zeros, none, null, reference.get(p).milestones()));
        }
        VariantSummary s = ComparisonAggregate.summarize("v", variant, reference);
        assertStat(s.milestones().firstRank1(), 4, 1, null, null, null, null);
        assertArrayEquals(new Double[] {null, null, null}, s.medianExpectedRank(), "no prompt has an expected answer");
        assertThrows(IllegalArgumentException.class, () -> ComparisonAggregate.summarize("v", variant, reference.subList(0, 3)));
        assertThrows(IllegalArgumentException.class, () -> ComparisonAggregate.summarize("v", List.of(), List.of()));
    }

    private static void assertStat(Stat s, int count, int present, Double q1, Double median, Double q3, Double iqr) {
        assertEquals(count, s.count(), "count");
        assertEquals(present, s.present(), "present");
        assertEquals(q1, s.q1(), "q1");
        assertEquals(median, s.median(), "median");
        assertEquals(q3, s.q3(), "q3");
        assertEquals(iqr, s.iqr(), "iqr");
    }
}
