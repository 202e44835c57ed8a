package dev.gguflens.report;

import dev.gguflens.experiment.ProbeReport;
import dev.gguflens.experiment.TraceReport;

import java.io.IOException;
import java.io.Writer;
import java.util.List;
import java.util.Locale;

/** The causal trace as text: the answer's probability per layer and column, then the normalised restoration. */
public final class TraceText {
    /** Widest column label shown; longer tokens are cut with an ellipsis. */
    private static final int MAX_LABEL = 8;

    private TraceText() {}

    public static void write(TraceReport r, Writer out) throws IOException {
        out.write("Causal trace of " + r.model().name() + " (" + r.model().architecture() + ", " + r.model().nLayer()
                + " layers), site " + r.site() + "\n");
        out.write("clean:     " + TokenDisplay.quoted(r.cleanPrompt()) + "\n");
        out.write("corrupted: " + TokenDisplay.quoted(r.corruptPrompt()) + "\n");
        out.write(String.format(Locale.ROOT, "answer:    %s (token %d %s)   p_clean %.4g   p_corrupt %.4g%n",
                TokenDisplay.quoted(r.answer()), r.answerId(), TokenDisplay.quoted(r.answerToken()), r.pClean(), r.pCorrupt()));
        String answerNote = answerNote(r);
        if (answerNote != null) out.write("           " + answerNote + "\n");
        if (r.kvCache() != null) out.write("KV cache:  " + TextReport.kvCache(r.kvCache()) + "\n");
        String rowName = r.site().equals("resid") ? "layer" : "block";
        String what = r.columnKind().equals("head")
                ? "one head's output (kqv_out slice) at every position"
                : switch (r.site()) {
                    case "resid" -> "the residual state at one position (layer 0 = embeddings, l = output of block l-1)";
                    case "attn" -> "the attention output (kqv_out) at one position";
                    default -> "the MLP output (ffn_out) at one position";
                };
        out.write(r.wholeAnswer()
                ? "\np(whole answer) (the product over its tokens), the corrupted run with " + what + " from the clean run:\n"
                : "\np(answer) at the last position, the corrupted run with " + what + " from the clean run:\n");
        matrix(r, out, rowName, false);
        out.write("\nrestoration (p - p_corrupt) / (p_clean - p_corrupt):\n");
        matrix(r, out, rowName, true);
        if (r.timings() != null) {
            TraceReport.Timings t = r.timings();
            long runLength = t.naivePositions() / t.cells();  // the prompt, plus the answer's tokens in sequence mode
            out.write(String.format(Locale.ROOT, "%ntimings: %d cells: %d patched runs + %d cells with no path to the answer"
                    + " (p_corrupt, not run)%n", t.cells(), t.runs(), t.cells() - t.runs()));
            out.write(String.format(Locale.ROOT, "  the runs as parallel llama.cpp sequences in %d decodes (%.0f tokens on average,"
                    + " largest %d): %.1f ms%n", t.decodes(), t.meanBatch(), t.largestBatch(), t.traceMillis()));
            out.write(String.format(Locale.ROOT, "  computed token positions %d (each run from its patched position on) of naive %d"
                    + " (one %d-token run per cell) = %.2f%n", t.computedPositions(), t.naivePositions(), runLength,
                    (double) t.computedPositions() / t.naivePositions()));
            out.write(String.format(Locale.ROOT, "  throughput %s positions/s; llama.cpp plain prompt processing %s positions/s"
                    + " (%d decodes of the same sizes, %d tokens in all, each one sequence after the cached %d-token prompt,"
                    + " timed between the trace's) = ratio %.2f%n",
                    rate(t.tracePositionsPerSecond()), rate(t.plainPositionsPerSecond()), t.plainDecodes(), t.plainPositions(), t.plainPrefix(),
                    t.ratio()));
        }
    }

    /** Two decimals below 10/s (an 8B model on two CPU cores computes about one position per second), one below 100/s. */
    private static String rate(double perSecond) {
        return String.format(Locale.ROOT, perSecond >= 100 ? "%.0f" : perSecond >= 10 ? "%.1f" : "%.2f", perSecond);
    }

    /**
     * Null for a one-token answer in first mode; else the answer's tokens and what p is: its first token's probability,
     * or (sequence mode) the whole answer's, the product over its tokens, each at the position that predicts it.
     */
    public static String answerNote(TraceReport r) {
        if (!r.multiToken()) return "sequence".equals(r.answerMode()) ? "the answer is one token: p is its probability" : null;
        StringBuilder sb = new StringBuilder(TokenDisplay.quoted(r.answer())).append(" is ").append(r.answerTokens().size())
                .append(" tokens:");
        for (ProbeReport.TokenInfo t : r.answerTokens()) sb.append(' ').append(TokenDisplay.quoted(t.text()));
        sb.append(r.wholeAnswer()
                ? "; p is the whole answer's: the product over its tokens, each at the position that predicts it (both"
                + " prompts extended by the answer's tokens; the patches stay on the prompt's positions)"
                : "; p is its first token's (--answer-mode sequence traces the whole answer)");
        return sb.toString();
    }

    private static void matrix(TraceReport r, Writer out, String rowName, boolean restoration) throws IOException {
        List<String> labels = r.columnLabels().stream().map(TraceText::label).toList();
        // A whole answer's probability is often far below 1e-4: scientific notation keeps its digits.
        boolean small = !restoration && Math.min(r.pClean(), r.pCorrupt()) < 1e-3;
        int width = Math.max(small ? 7 : 6, labels.stream().mapToInt(String::length).max().orElse(0));
        StringBuilder head = new StringBuilder(String.format(Locale.ROOT, "%5s", rowName));
        for (String l : labels) head.append(' ').append(pad(l, width));
        out.write(head.toString().stripTrailing() + "\n");
        for (TraceReport.Row row : r.rows()) {
            StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "%5d", row.layer()));
            for (double p : row.p()) {
                double v = restoration ? r.restoration(p) : p;
                String cell = Double.isNaN(v) ? "-" : String.format(Locale.ROOT, restoration ? "%.2f" : small ? "%.1e" : "%.4f", v);
                line.append(' ').append(pad(cell, width));
            }
            out.write(line.toString().stripTrailing() + "\n");
        }
    }

    private static String label(String token) {
        String plain = VisibleText.plain(token);
        return plain.codePointCount(0, plain.length()) <= MAX_LABEL ? plain
                : plain.substring(0, plain.offsetByCodePoints(0, MAX_LABEL - 1)) + "\u2026";
    }

    /** Right-aligned in {@code width} code points. */
    private static String pad(String s, int width) {
        int n = s.codePointCount(0, s.length());
        return n >= width ? s : " ".repeat(width - n) + s;
    }
}
