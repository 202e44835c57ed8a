package dev.gguflens.lens;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;

/**
 * A full softmax over one logit vector (optionally at a temperature), computed in double through
 * log-sum-exp: entropy from the log-probabilities (so it never goes negative), top-k, and any token's rank
 * and probability. Used for llama.cpp's own final logits, the extra prompts and the temperature sweep.
 */
public final class LogitDistribution {
    private final float[] logits;
    private final double temperature;
    private final double logSumExp;
    private final double entropyNats;

    private LogitDistribution(float[] logits, double temperature) {
        if (!(temperature > 0)) throw new IllegalArgumentException("temperature " + temperature + " must be > 0");
        if (logits.length == 0) throw new IllegalArgumentException("no logits");
        this.logits = logits;
        this.temperature = temperature;
        double max = Double.NEGATIVE_INFINITY;
        for (float z : logits) max = Math.max(max, z / temperature);
        double sum = 0;
        double weighted = 0;
        for (float z : logits) {
            double shifted = z / temperature - max;
            double e = Math.exp(shifted);
            sum += e;
            weighted += e * shifted;
        }
        logSumExp = max + Math.log(sum);
        // H = log S - sum(p * shifted), both relative to the max; exactly 0 for a delta distribution.
        entropyNats = Math.max(0.0, Math.log(sum) - weighted / sum);
    }

    public static LogitDistribution of(float[] logits) {
        return new LogitDistribution(logits, 1.0);
    }

    public static LogitDistribution of(float[] logits, double temperature) {
        return new LogitDistribution(logits, temperature);
    }

    public int size() {
        return logits.length;
    }

    public double entropyNats() {
        return entropyNats;
    }

    public double entropyBits() {
        return entropyNats / Math.log(2);
    }

    public double logProbability(int token) {
        return logits[token] / temperature - logSumExp;
    }

    public double probability(int token) {
        return Math.exp(logProbability(token));
    }

    /** 1 + the number of tokens with a strictly higher logit (ties share the better rank). */
    public int rank(int token) {
        float z = logits[token];
        int higher = 0;
        for (float other : logits) if (other > z) higher++;
        return higher + 1;
    }

    /** The k most likely tokens, most likely first; equal logits ordered by lower id. */
    public List<LensResult.TokenProbability> top(int k) {
        Comparator<Integer> worstFirst = Comparator.<Integer>comparingDouble(i -> logits[i]).thenComparing(i -> -i);
        PriorityQueue<Integer> heap = new PriorityQueue<>(worstFirst);
        for (int i = 0; i < logits.length; i++) {
            if (heap.size() < k) heap.add(i);
            else if (worstFirst.compare(i, heap.peek()) > 0) {
                heap.poll();
                heap.add(i);
            }
        }
        List<LensResult.TokenProbability> out = new ArrayList<>(heap.size());
        while (!heap.isEmpty()) {
            int id = heap.poll();
            out.add(new LensResult.TokenProbability(id, probability(id)));
        }
        return out.reversed();
    }
}
