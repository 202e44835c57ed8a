package dev.gguflens.lens;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

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
    /** e^(z-m) of the current block (scratch). */
    private double[] weights = new double[0];

    RowStatistics(int topCapacity, int[] trackedIds, double[] trackedLogits) {
        this.top = new TopK(topCapacity);
        this.trackedIds = trackedIds;
        this.trackedLogits = trackedLogits;
        this.greaterThanTracked = new long[trackedIds.length];
    }

    /** Adds z[zOff .. zOff+n) compared with f[fOff .. fOff+n), for vocabulary ids starting at rowStart. */
    void accept(double[] z, int zOff, double[] f, int fOff, int n, int rowStart) {
        double blockMax = Double.NEGATIVE_INFINITY;
        int jm = 0;
        if (n >= D.length()) {
            DoubleVector mx = DoubleVector.broadcast(D, Double.NEGATIVE_INFINITY);
            for (int bound = D.loopBound(n); jm < bound; jm += D.length()) mx = mx.max(DoubleVector.fromArray(D, z, zOff + jm));
            blockMax = mx.reduceLanes(VectorOperators.MAX);  // max: the order does not matter
        }
        for (; jm < n; jm++) blockMax = Math.max(blockMax, z[zOff + jm]);
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
        if (weights.length < n) weights = new double[n];
        double[] ws = weights;
        expOfDifference(z, zOff, m, ws, n);
        // The sums lane-wise (each lane its own running sums, folded in a fixed order at the end), so this
        // pass runs at vector speed instead of waiting on six chains of dependent double additions.
        DoubleVector vs = DoubleVector.zero(D), vu = vs, vt = vs, vd = vs, vzz = vs, vff = vs, vmad = vs;
        DoubleVector mv = bc(m);
        int j = 0;
        for (int bound = D.loopBound(n); j < bound; j += D.length()) {
            DoubleVector zv = DoubleVector.fromArray(D, z, zOff + j), fv = DoubleVector.fromArray(D, f, fOff + j);
            DoubleVector w = DoubleVector.fromArray(D, ws, j), diff = zv.sub(fv);
            vs = vs.add(w);
            vu = w.fma(zv.sub(mv), vu);
            vt = w.fma(diff, vt);
            vmad = vmad.max(diff.abs());
            vd = zv.fma(fv, vd);
            vzz = zv.fma(zv, vzz);
            vff = fv.fma(fv, vff);
        }
        for (; j < n; j++) {
            double zj = z[zOff + j], fj = f[fOff + j], w = ws[j], diff = zj - fj;
            s += w;
            u = Math.fma(w, zj - m, u);
            t = Math.fma(w, diff, t);
            mad = Math.max(mad, Math.abs(diff));
            d = Math.fma(zj, fj, d);
            zz = Math.fma(zj, zj, zz);
            ff = Math.fma(fj, fj, ff);
        }
        s += fold(vs);
        u += fold(vu);
        t += fold(vt);
        d += fold(vd);
        zz += fold(vzz);
        ff += fold(vff);
        mad = Math.max(mad, vmad.reduceLanes(VectorOperators.MAX));  // max: the order does not matter
        // Top-k: once the heap is full only a logit >= its root can enter, and the root only rises, so runs of
        // SKIP_RUN vectors whose largest lane cannot enter are skipped (the same tokens are offered as one by one).
        // One lane reduction per four vectors: with one per vector this scan had a fifth of the statistics pass's
        // samples in bench's M=592 lens (JFR), and the pass took 4.8 ns per element against 4.45 now (256 bits).
        j = 0;
        for (; j < n && top.mayEnter(Double.NEGATIVE_INFINITY); j++) top.offer(z[zOff + j], rowStart + j);
        int run = SKIP_RUN * D.length();
        while (j < n) {
            int end = Math.min(j + run, n);
            if (end - j == run) {
                int o = zOff + j;
                DoubleVector largest = DoubleVector.fromArray(D, z, o).max(DoubleVector.fromArray(D, z, o + D.length()))
                        .max(DoubleVector.fromArray(D, z, o + 2 * D.length()).max(DoubleVector.fromArray(D, z, o + 3 * D.length())));
                if (!top.mayEnter(largest.reduceLanes(VectorOperators.MAX))) {
                    j = end;
                    continue;
                }
            }
            for (; j < end; j++) if (top.mayEnter(z[zOff + j])) top.offer(z[zOff + j], rowStart + j);
        }
        // Ranks of the tracked tokens: counted lane-wise without a data-dependent branch per token (about half
        // of all comparisons go either way, so a branch mispredicts constantly).
        for (int k = 0; k < tracked; k++) {
            double tk = trackedLogits[k];
            long greater = 0;
            int i = 0;
            if (TWO_LANES && Double.isFinite(tk)) {
                // Two lanes (MaxVectorSize=16): C2 has no intrinsic for masks of two 64-bit lanes, so compare and
                // trueCount built a mask object per vector (with one tracked token ~19 of accept's 43 ns per element;
                // accept with both fixes: 8.1, at 256 bits 4.2-4.5 as before; ExpTuning, load ~3). Instead
                // z > tk as the sign bit of tk - z: exact for finite z (distinct doubles never subtract to 0;
                // a non-finite row fails its log-sum-exp check in LogitLens, so its ranks are never reported).
                // tk + 0.0 turns -0.0 into +0.0, so z = +-0 gives +0 (-0.0 - 0.0 would be -0.0: counted, yet not greater).
                DoubleVector tv = bc(tk + 0.0);
                LongVector count = LongVector.zero(L);
                for (int bound = D.loopBound(n); i < bound; i += D.length()) {
                    DoubleVector zv = DoubleVector.fromArray(D, z, zOff + i);
                    count = count.add(tv.sub(zv).reinterpretAsLongs().lanewise(VectorOperators.LSHR, 63));
                }
                for (int lane = 0; lane < L.length(); lane++) greater += count.lane(lane);
            } else {
                for (int bound = D.loopBound(n); i < bound; i += D.length()) {
                    greater += DoubleVector.fromArray(D, z, zOff + i).compare(VectorOperators.GT, tk).trueCount();
                }
            }
            for (; i < n; i++) if (z[zOff + i] > tk) greater++;
            // The tracked token itself never counts, so its rank does not depend on rounding between passes.
            int own = trackedIds[k] - rowStart;
            if (own >= 0 && own < n && z[zOff + own] > tk) greater--;
            greaterThanTracked[k] += greater;
        }
        sumExp += s;
        sumExpShifted += u;
        sumExpDiff += t;
        dot += d;
        squares += zz;
        finalSquares += ff;
        maxAbsDiff = mad;
    }

    private static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Long> L = LongVector.SPECIES_PREFERRED;
    private static final boolean TWO_LANES = D.length() == 2;
    /** Vectors per top-k skip test (the four loads above). */
    private static final int SKIP_RUN = 4;
    private static final double INV_LN2 = 1.4426950408889634;
    private static final double LN2_HI = 0.6931471803691238;       // 33 significant bits: k * LN2_HI is exact
    private static final double LN2_LO = 1.9082149292705877e-10;   // ln 2 - LN2_HI
    private static final double ROUNDER = 0x1.8p52;                // adding and subtracting it rounds to an integer
    /** Below this e^x is subnormal (or 0) and the 2^k scaling by exponent bits would be wrong. */
    private static final double SMALLEST_NORMAL_ARG = -708.0;
    /** e^-746 is about 1.0e-324, under half of the smallest subnormal (4.9e-324): below this e^x rounds to 0. */
    private static final double ZERO_BELOW = -746.0;
    /** 1/i! for i = 13 down to 2: the Taylor polynomial of e^r, |r| <= ln2/2, truncation error < 1e-17. */
    private static final double[] INV_FACT = {
            1.0 / 6227020800.0, 1.0 / 479001600.0, 1.0 / 39916800.0, 1.0 / 3628800.0, 1.0 / 362880.0,
            1.0 / 40320.0, 1.0 / 5040.0, 1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5};

    /**
     * out[j] = e^(z[zOff+j] - m) for j < n, with z - m <= 0. Math.exp is a call per element, the largest cost of
     * the statistics pass; this is e^x = 2^k e^r (k = round(x / ln 2), r = x - k ln 2 in two parts) with r's
     * Taylor polynomial in Horner form, vectorised. Only adds, multiplies and fused multiply-adds, each lane on
     * its own, so the scalar tail and a lane give identical bits and nothing depends on JIT state, block size or
     * thread count. Within about 2 ulp of e^x; arguments below -708 (weights under 1e-307) use Math.exp.
     */
    static void expOfDifference(double[] z, int zOff, double m, double[] out, int n) {
        int j = 0;
        // The smallest argument per lane instead of a compare-and-anyTrue per vector: C2 has no intrinsic for masks
        // of two 64-bit lanes (MaxVectorSize=16 on AVX2), so each compare built a mask object in the loop: 20.2 ns
        // per element at 128 bits, now 4.4 (256 bits: 2.4, unchanged; ExpTuning, one thread's CPU time, load ~3).
        DoubleVector smallest = bc(0.0);
        int bound = D.loopBound(n);
        for (; j < bound; j += D.length()) {
            DoubleVector x = DoubleVector.fromArray(D, z, zOff + j).sub(m);
            smallest = smallest.min(x);
            DoubleVector kr = x.fma(INV_LN2, ROUNDER);  // k + ROUNDER: k sits in the low mantissa bits
            DoubleVector k = kr.sub(ROUNDER);
            DoubleVector r = k.fma(bc(-LN2_HI), x).add(k.mul(-LN2_LO));
            DoubleVector p = DoubleVector.broadcast(D, INV_FACT[0]);
            for (int i = 1; i < INV_FACT.length; i++) p = p.fma(r, bc(INV_FACT[i]));
            p = p.fma(r, bc(1.0)).fma(r, bc(1.0));
            // 2^k from kr's bits: (2^51 + k + 1023) << 52 keeps the low 12 bits of k + 1023, as ((long) k + 1023) << 52
            // does. No double-to-long conversion: AVX2 has none, and C2's fallback made this loop 33 ns per element
            // at 128 bits and 10.6 at 256; now 20.6 and 1.96 (accept: 53 -> 40 and 12.8 -> 4.0 ns; ExpTuning, one thread's CPU time).
            LongVector bits = kr.reinterpretAsLongs().add(1023).lanewise(VectorOperators.LSHL, 52);
            p.mul(bits.reinterpretAsDoubles()).intoArray(out, j);
        }
        // Rare (a weight under 1e-307, or a NaN, which min propagates): the same per-element repair as the tail's exp.
        if (!(smallest.reduceLanes(VectorOperators.MIN) >= SMALLEST_NORMAL_ARG)) {
            for (int i = 0; i < bound; i++) if (z[zOff + i] - m < SMALLEST_NORMAL_ARG) out[i] = belowNormalRange(z[zOff + i] - m);
        }
        for (; j < n; j++) out[j] = exp(z[zOff + j] - m);
    }

    /** Lanes summed in index order (reduceLanes leaves the order open, and the interpreter and C2 differ). */
    private static double fold(DoubleVector v) {
        double sum = 0;
        for (int i = 0; i < v.length(); i++) sum += v.lane(i);
        return sum;
    }

    private static DoubleVector bc(double v) {
        return DoubleVector.broadcast(D, v);
    }

    /**
     * e^x for x below {@link #SMALLEST_NORMAL_ARG} (or NaN): 0 below {@link #ZERO_BELOW}, where e^x is under half the
     * smallest subnormal double and so rounds to 0 (Math.exp's own result there), without Math.exp's call: a row
     * whose logits spread past 746 below its maximum had nearly every element here, 27.9 ns each against 4.3.
     */
    private static double belowNormalRange(double x) {
        return x < ZERO_BELOW ? 0.0 : Math.exp(x);
    }

    /** The same steps as one lane of {@link #expOfDifference}. */
    static double exp(double x) {
        if (!(x >= SMALLEST_NORMAL_ARG)) return belowNormalRange(x);
        double k = Math.fma(x, INV_LN2, ROUNDER) - ROUNDER;
        double r = Math.fma(k, -LN2_HI, x) + k * -LN2_LO;
        double p = INV_FACT[0];
        for (int i = 1; i < INV_FACT.length; i++) p = Math.fma(p, r, INV_FACT[i]);
        p = Math.fma(Math.fma(p, r, 1.0), r, 1.0);
        return p * Double.longBitsToDouble(((long) k + 1023) << 52);
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
