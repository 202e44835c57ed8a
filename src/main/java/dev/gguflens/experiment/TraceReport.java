package dev.gguflens.experiment;

import java.util.List;
import java.util.Objects;

/**
 * A causal trace: the corrupted prompt run again with one site replaced by the clean run's state, for every
 * layer and column (prompt position, or attention head for the {@code heads} site), and the answer's probability
 * at the last position each time.
 *
 * @param site           resid, attn, mlp or heads
 * @param columnKind     "position" (one patched position per cell) or "head" (one head at every position)
 * @param columnLabels   the corrupted prompt's tokens, or "h0", "h1", ...
 * @param rows           one per layer: resid rows 0..n_layer (0 = embeddings, l = output of block l-1); attn, mlp and
 *                       heads rows are blocks 0..n_layer-1
 * @param timings        with --timings, else null
 * @param kvCache        the KV cache and flash attention the trace's context ran with (null: not recorded)
 * @param answerMode     "first": p is the answer's first token's probability at the last prompt position;
 *                       "sequence": p is the whole answer's, the product over its tokens, each at the position that
 *                       predicts it (both prompts extended by the answer's tokens; patches stay on the prompt)
 * @param answerTokens   every token of the answer after the clean prompt
 */
public record TraceReport(ProbeReport.ModelInfo model, String site, String cleanPrompt, String corruptPrompt,
                          List<ProbeReport.TokenInfo> cleanTokens, List<ProbeReport.TokenInfo> corruptTokens,
                          String answer, int answerId, String answerToken, double pClean, double pCorrupt,
                          String columnKind, List<String> columnLabels, List<Row> rows, Timings timings,
                          ProbeReport.KvCache kvCache, String answerMode, List<ProbeReport.TokenInfo> answerTokens) {
    /** A first-mode trace with a one-token answer and no KV cache description. */
    public TraceReport(ProbeReport.ModelInfo model, String site, String cleanPrompt, String corruptPrompt,
                       List<ProbeReport.TokenInfo> cleanTokens, List<ProbeReport.TokenInfo> corruptTokens,
                       String answer, int answerId, String answerToken, double pClean, double pCorrupt,
                       String columnKind, List<String> columnLabels, List<Row> rows, Timings timings) {
        this(model, site, cleanPrompt, corruptPrompt, cleanTokens, corruptTokens, answer, answerId, answerToken, pClean,
                pCorrupt, columnKind, columnLabels, rows, timings, null, "first",
                List.of(new ProbeReport.TokenInfo(answerId, answerToken)));
    }

    public TraceReport {
        Objects.requireNonNull(model);
        answerTokens = List.copyOf(answerTokens);
        if (answerTokens.isEmpty()) throw new IllegalArgumentException("an answer has at least one token");
        cleanTokens = List.copyOf(cleanTokens);
        corruptTokens = List.copyOf(corruptTokens);
        columnLabels = List.copyOf(columnLabels);
        rows = List.copyOf(rows);
        for (Row r : rows) {
            if (r.p().length != columnLabels.size()) {
                throw new IllegalArgumentException("row " + r.layer() + " has " + r.p().length + " cells for "
                        + columnLabels.size() + " columns");
            }
        }
    }

    /** p(answer) at the last position with the site patched at each column. */
    public record Row(int layer, double[] p) {
        public Row {
            p = p.clone();
        }

        @Override
        public double[] p() {
            return p.clone();
        }
    }

    /**
     * @param cells             cells of the trace (rows x columns)
     * @param runs              patched runs (llama.cpp sequences) computed; the other cells have no path to the
     *                          answer (a last-block site before the last position) and are p_corrupt without a run
     * @param computedPositions token positions the runs computed (each from its first patched position on)
     * @param naivePositions    what one full forward pass of the prompt per cell would compute: cells x prompt length
     * @param decodes           llama_decode calls of the trace
     * @param largestBatch      tokens of the largest of them
     * @param traceMillis       wall time of the patched runs (decodes, cache sequence copies, Java between them)
     * @param plainDecodes      plain prompt-processing decodes timed for comparison, each right after a trace decode
     *                          and of as many tokens: one sequence on top of the cached corrupted prompt
     * @param plainPositions    their tokens
     * @param plainPrefix       tokens already in the KV cache under them (the corrupted prompt, as under each trace decode)
     * @param plainMillis       their wall time
     */
    public record Timings(long cells, long runs, long computedPositions, long naivePositions, int decodes, int largestBatch,
                          double traceMillis, int plainDecodes, long plainPositions, int plainPrefix, double plainMillis) {
        public Timings {
            if (runs > cells || computedPositions > naivePositions || decodes < 1 || plainDecodes < 1 || plainDecodes > decodes
                    || plainPositions < plainDecodes) {
                throw new IllegalArgumentException("inconsistent trace timings: " + runs + " runs of " + cells + " cells, "
                        + computedPositions + " of " + naivePositions + " positions, " + decodes + " decodes, "
                        + plainDecodes + " plain decodes of " + plainPositions + " positions");
            }
        }

        /** Mean tokens per decode. */
        public double meanBatch() {
            return (double) computedPositions / decodes;
        }

        public double tracePositionsPerSecond() {
            return computedPositions / (traceMillis / 1e3);
        }

        public double plainPositionsPerSecond() {
            return plainPositions / (plainMillis / 1e3);
        }

        /** Trace throughput over plain prompt processing's (the performance goal: at least 0.8). */
        public double ratio() {
            return tracePositionsPerSecond() / plainPositionsPerSecond();
        }
    }

    /** Whether the answer has several tokens. */
    public boolean multiToken() {
        return answerTokens.size() > 1;
    }

    /** Whether p is the whole answer's probability (sequence mode with several tokens). */
    public boolean wholeAnswer() {
        return multiToken() && "sequence".equals(answerMode);
    }

    /** (p - p_corrupt) / (p_clean - p_corrupt); NaN when the two runs give the answer the same probability. */
    public double restoration(double p) {
        double span = pClean - pCorrupt;
        return span == 0 ? Double.NaN : (p - pCorrupt) / span;
    }
}
