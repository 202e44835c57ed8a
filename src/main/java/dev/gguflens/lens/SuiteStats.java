package dev.gguflens.lens;

import java.util.Arrays;
import java.util.List;
import java.util.OptionalDouble;

/**
 * Median and interquartile range over a suite of prompts, for milestones that may be absent.
 * <p>Quantiles use linear interpolation between order statistics (numpy's default, "type 7"):
 * for n sorted values v and quantile q, h = (n - 1) q and Q(q) = v[floor h] + (h - floor h) (v[floor h + 1] - v[floor h]).
 * <p>Absent values: a milestone that is never reached happened "after the last layer", so an absent value is
 * sorted after every present one (treated as +infinity, i.e. right-censored), never dropped - dropping would
 * make a model that rarely reaches a milestone look as if it reached it early. A quantile whose interpolation
 * gives any weight to an absent value is itself absent; so the median exists only while fewer than half of the
 * values are absent (exactly half absent: absent when n is even and the upper middle value is absent).
 */
public final class SuiteStats {
    private SuiteStats() {}

    /**
     * @param count   number of values, present or absent
     * @param present number of present values
     * @param q1      25th percentile, when defined
     * @param median  50th percentile, when defined
     * @param q3      75th percentile, when defined
     * @param iqr     q3 - q1, when both are defined
     */
    public record Summary(int count, int present, OptionalDouble q1, OptionalDouble median, OptionalDouble q3,
                          OptionalDouble iqr) {}

    public static Summary summarize(List<OptionalDouble> values) {
        double[] sorted = sortedWithAbsentLast(values);
        int present = (int) values.stream().filter(OptionalDouble::isPresent).count();
        OptionalDouble q1 = quantileOfSorted(sorted, 0.25);
        OptionalDouble median = quantileOfSorted(sorted, 0.5);
        OptionalDouble q3 = quantileOfSorted(sorted, 0.75);
        OptionalDouble iqr = q1.isPresent() && q3.isPresent()
                ? OptionalDouble.of(q3.getAsDouble() - q1.getAsDouble()) : OptionalDouble.empty();
        return new Summary(values.size(), present, q1, median, q3, iqr);
    }

    /** The q-quantile (0 <= q <= 1) under the rules above; empty for no values or when it touches an absent one. */
    public static OptionalDouble quantile(List<OptionalDouble> values, double q) {
        return quantileOfSorted(sortedWithAbsentLast(values), q);
    }

    private static double[] sortedWithAbsentLast(List<OptionalDouble> values) {
        double[] sorted = new double[values.size()];
        for (int i = 0; i < sorted.length; i++) {
            OptionalDouble v = values.get(i);
            if (v == null) throw new IllegalArgumentException("suite stats: value " + i + " is null (use an empty OptionalDouble)");
            if (v.isPresent() && !Double.isFinite(v.getAsDouble())) {
                throw new IllegalArgumentException("suite stats: value " + i + " is " + v.getAsDouble() + ", not finite");
            }
            sorted[i] = v.isPresent() ? v.getAsDouble() : Double.POSITIVE_INFINITY;
        }
        Arrays.sort(sorted);
        return sorted;
    }

    private static OptionalDouble quantileOfSorted(double[] sorted, double q) {
        if (!(q >= 0 && q <= 1)) throw new IllegalArgumentException("suite stats: quantile " + q + " is outside [0, 1]");
        if (sorted.length == 0) return OptionalDouble.empty();
        double h = (sorted.length - 1) * q;
        int lo = (int) Math.floor(h);
        double weight = h - lo;
        double low = sorted[lo];
        if (weight == 0) return Double.isFinite(low) ? OptionalDouble.of(low) : OptionalDouble.empty();
        double high = sorted[lo + 1];
        if (!Double.isFinite(high)) return OptionalDouble.empty();
        return OptionalDouble.of(low + weight * (high - low));
    }
}
