package dev.gguflens.experiment;

import dev.gguflens.experiment.CompareReport.Layer;
import dev.gguflens.experiment.CompareReport.MilestoneShift;
import dev.gguflens.experiment.CompareReport.MilestoneStats;
import dev.gguflens.experiment.CompareReport.PromptResult;
import dev.gguflens.experiment.CompareReport.Stat;
import dev.gguflens.experiment.CompareReport.VariantSummary;
import dev.gguflens.lens.SuiteStats;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalDouble;
import java.util.function.Function;

/** Suite statistics of one variant from its per-prompt results (prompt i of the variant = prompt i of the reference). */
public final class ComparisonAggregate {
    private ComparisonAggregate() {}

    public static VariantSummary summarize(String variant, List<PromptResult> variantResults,
                                           List<PromptResult> referenceResults) {
        if (variantResults.isEmpty()) throw new IllegalArgumentException("variant " + variant + ": no prompt results");
        if (variantResults.size() != referenceResults.size()) {
            throw new IllegalArgumentException("variant " + variant + ": " + variantResults.size()
                    + " prompt results but the reference has " + referenceResults.size());
        }
        int layers = variantResults.getFirst().layers().size();
        int prompts = variantResults.size();
        double[] meanKl = new double[layers];
        double[] flipRate = new double[layers];
        Double[] medianRank = new Double[layers];
        Double[] medianLogProb = new Double[layers];
        boolean sequence = false;
        for (int layer = 0; layer < layers; layer++) {
            double kl = 0;
            int flips = 0;
            List<OptionalDouble> ranks = new ArrayList<>();
            List<OptionalDouble> logProbs = new ArrayList<>();
            for (PromptResult r : variantResults) {
                if (r.layers().size() != layers) {
                    throw new IllegalArgumentException("variant " + variant + ": prompt " + r.prompt() + " has "
                            + r.layers().size() + " layers, expected " + layers);
                }
                Layer l = r.layers().get(layer);
                kl += l.vsReference().klBits();
                if (!l.vsReference().top1Agree()) flips++;
                List<ProbeReport.Expected> expected = l.probe().expected();
                if (expected != null && !expected.isEmpty()) ranks.add(OptionalDouble.of(expected.getFirst().rank()));
                if (expected != null && !expected.isEmpty() && expected.getFirst().answerLogProb() != null) {
                    logProbs.add(OptionalDouble.of(expected.getFirst().answerLogProb()));
                }
            }
            meanKl[layer] = kl / prompts;
            flipRate[layer] = (double) flips / prompts;
            OptionalDouble median = SuiteStats.quantile(ranks, 0.5);
            medianRank[layer] = ranks.isEmpty() || median.isEmpty() ? null : median.getAsDouble();
            OptionalDouble medianLp = SuiteStats.quantile(logProbs, 0.5);
            medianLogProb[layer] = logProbs.isEmpty() || medianLp.isEmpty() ? null : medianLp.getAsDouble();
            sequence |= !logProbs.isEmpty();
        }
        double meanAll = 0;
        for (double v : meanKl) meanAll += v;
        meanAll /= layers;

        MilestoneStats milestones = new MilestoneStats(
                milestoneStat(variantResults, m -> m.firstRank1()),
                milestoneStat(variantResults, m -> m.firstRankLe5()),
                milestoneStat(variantResults, m -> m.firstKlBelow1Bit()));
        MilestoneStats shifts = new MilestoneStats(
                shiftStat(variantResults, referenceResults, MilestoneShift::firstRank1, m -> m.firstRank1()),
                shiftStat(variantResults, referenceResults, MilestoneShift::firstRankLe5, m -> m.firstRankLe5()),
                shiftStat(variantResults, referenceResults, MilestoneShift::firstKlBelow1Bit, m -> m.firstKlBelow1Bit()));
        return new VariantSummary(variant, meanKl, meanAll, flipRate, medianRank, sequence ? medianLogProb : null,
                milestones, shifts);
    }

    /** The shift of one milestone: variant layer minus reference layer, null when either is never reached. */
    public static MilestoneShift shift(ProbeReport.Milestones variant, ProbeReport.Milestones reference) {
        return new MilestoneShift(difference(variant.firstRank1(), reference.firstRank1()),
                difference(variant.firstRankLe5(), reference.firstRankLe5()),
                difference(variant.firstKlBelow1Bit(), reference.firstKlBelow1Bit()));
    }

    private static Integer difference(ProbeReport.Milestone variant, ProbeReport.Milestone reference) {
        return variant.layer() == null || reference.layer() == null ? null : variant.layer() - reference.layer();
    }

    private static Stat milestoneStat(List<PromptResult> results, Function<ProbeReport.Milestones, ProbeReport.Milestone> which) {
        List<OptionalDouble> values = results.stream().map(r -> which.apply(r.milestones()).layer())
                .map(l -> l == null ? OptionalDouble.empty() : OptionalDouble.of(l)).toList();
        return stat(values);
    }

    /**
     * Prompts where the reference never reaches the milestone have no shift and are left out; where only the
     * variant never reaches it the shift is absent, i.e. later than any finite shift.
     */
    private static Stat shiftStat(List<PromptResult> variant, List<PromptResult> reference,
                                  Function<MilestoneShift, Integer> shift,
                                  Function<ProbeReport.Milestones, ProbeReport.Milestone> which) {
        List<OptionalDouble> values = new ArrayList<>();
        for (int i = 0; i < variant.size(); i++) {
            if (which.apply(reference.get(i).milestones()).layer() == null) continue;
            Integer s = shift.apply(variant.get(i).milestoneShift());
            values.add(s == null ? OptionalDouble.empty() : OptionalDouble.of(s));
        }
        return stat(values);
    }

    static Stat stat(List<OptionalDouble> values) {
        SuiteStats.Summary s = SuiteStats.summarize(values);
        return new Stat(s.count(), s.present(), boxed(s.q1()), boxed(s.median()), boxed(s.q3()), boxed(s.iqr()));
    }

    private static Double boxed(OptionalDouble v) {
        return v.isPresent() ? v.getAsDouble() : null;
    }
}
