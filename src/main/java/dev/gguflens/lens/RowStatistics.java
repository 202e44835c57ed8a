package dev.gguflens.lens;

/**
 * Running statistics of one logit row z compared with a row f (the final logits), fed one vocabulary
 * block at a time. Keeps the online log-sum-exp (max m, S = sum e^(z-m)) and, with weights w = e^(z-m):
 * U = sum w (z - m) and T = sum w (z - f). When m grows by d every weighted sum is multiplied by e^-d
 * (and U also shifts by -d S), so no block has to be seen twice.
 * <p>Entropy = log S - U/S: both terms are >= 0 (S >= 1, U <= 0), so it cannot go negative even for a
 * near-delta distribution where lse - E[z] would cancel catastrophically.
 */
final class RowStatistics {
    private double max = Double.NEGATIVE_INFINITY;
    private double sumExp;
    private double sumExpShifted;   // U
    private double sumExpDiff;      // T
    private double dot;
    private double squares;
    private double finalSquares;
    private double maxAbsDiff;
    private final TopK top;
    private final double[] trackedLogits;
    private final int[] trackedIds;
    private final long[] greaterThanTracked;

    RowStatistics(int topCapacity, int[] trackedIds, double[] trackedLogits) {
        this.top = new TopK(topCapacity);
        this.trackedIds = trackedIds;
        this.trackedLogits = trackedLogits;
        this.greaterThanTracked = new long[trackedIds.length];
    }

    /** Adds z[zOff .. zOff+n) compared with f[fOff .. fOff+n), for vocabulary ids starting at rowStart. */
    void accept(double[] z, int zOff, double[] f, int fOff, int n, int rowStart) {
        double blockMax = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < n; j++) blockMax = Math.max(blockMax, z[zOff + j]);
        if (blockMax > max) {
            if (sumExp > 0) {
                double shift = max - blockMax;      // < 0
                double scale = Math.exp(shift);
                sumExpShifted = scale * (sumExpShifted + shift * sumExp);
                sumExp *= scale;
                sumExpDiff *= scale;
            }
            max = blockMax;
        }
        double m = max;
        double s = 0, u = 0, t = 0, d = 0, zz = 0, ff = 0, mad = maxAbsDiff;
        int tracked = trackedIds.length;
        double lowestTracked = Double.POSITIVE_INFINITY;
        for (double v : trackedLogits) lowestTracked = Math.min(lowestTracked, v);
        for (int j = 0; j < n; j++) {
            double zj = z[zOff + j];
            double fj = f[fOff + j];
            double w = Math.exp(zj - m);
            s += w;
            u += w * (zj - m);
            double diff = zj - fj;
            t += w * diff;
            mad = Math.max(mad, Math.abs(diff));
            d += zj * fj;
            zz += zj * zj;
            ff += fj * fj;
            int id = rowStart + j;
            if (top.mayEnter(zj)) top.offer(zj, id);
            if (zj > lowestTracked) {
                for (int k = 0; k < tracked; k++) {
                    // The tracked token itself never counts, so its rank does not depend on rounding between passes.
                    if (zj > trackedLogits[k] && id != trackedIds[k]) greaterThanTracked[k]++;
                }
            }
        }
        sumExp += s;
        sumExpShifted += u;
        sumExpDiff += t;
        dot += d;
        squares += zz;
        finalSquares += ff;
        maxAbsDiff = mad;
    }

    double logSumExp() {
        return max + Math.log(sumExp);
    }

    double entropyNats() {
        return Math.max(0.0, Math.log(sumExp) - sumExpShifted / sumExp);
    }

    /** KL(this || compared row) in nats, given the compared row's log-sum-exp. */
    double klNats(double comparedLogSumExp) {
        double kl = sumExpDiff / sumExp - logSumExp() + comparedLogSumExp;
        return Math.max(0.0, kl);   // KL >= 0; a tiny negative value is rounding
    }

    double cosine() {
        return dot / Math.sqrt(squares * finalSquares);
    }

    double maxAbsDiff() {
        return maxAbsDiff;
    }

    double probabilityOf(double logit) {
        return Math.exp(logit - logSumExp());
    }

    TopK top() {
        return top;
    }

    /** 1-based rank of the k-th tracked token: 1 + number of tokens with a strictly greater logit. */
    int trackedRank(int k) {
        return Math.toIntExact(1 + greaterThanTracked[k]);
    }

    double trackedLogit(int k) {
        return trackedLogits[k];
    }
}
