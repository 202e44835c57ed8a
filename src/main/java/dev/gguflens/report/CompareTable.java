package dev.gguflens.report;

import dev.gguflens.experiment.CompareReport;
import dev.gguflens.experiment.CompareReport.Stat;
import dev.gguflens.experiment.CompareReport.Variant;
import dev.gguflens.experiment.CompareReport.VariantSummary;
import dev.gguflens.experiment.ProbeReport;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** The terminal table of a comparison: one row per variant, milestones as median [q1-q3] over the suite. */
public final class CompareTable {
    private CompareTable() {}

    public static String render(CompareReport report) {
        StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "Reference: %s   lens: %s   prompts: %d   top-k: %d%n", report.reference(),
                report.lens(), report.prompts().size(), report.topK()));
        out.append(kvCacheLine(report)).append('\n');
        for (String line : report.backendLines()) out.append("Backend: ").append(line).append('\n');
        out.append("Milestones are layers (0 = embeddings): median [q1-q3] over the prompts; 'never' when the median\n"
                + "is not reached. Shift = variant layer - reference layer. KL = KL(variant || reference) of the lens, bits.\n");
        String answers = answerLine(report);
        if (answers != null) out.append(answers).append('\n');
        out.append('\n');
        List<String[]> rows = rows(report);
        int[] widths = new int[rows.getFirst().length];
        for (String[] r : rows) for (int c = 0; c < r.length; c++) widths[c] = Math.max(widths[c], r[c].length());
        for (int k = 0; k < rows.size(); k++) {
            String[] r = rows.get(k);
            StringBuilder line = new StringBuilder();
            for (int c = 0; c < r.length; c++) {
                if (c > 0) line.append("  ");
                String pad = " ".repeat(widths[c] - r[c].length());
                line.append(c == 0 || c == 1 ? r[c] + pad : pad + r[c]);
            }
            out.append(line.toString().stripTrailing()).append('\n');
            if (k == 0) out.append("-".repeat(line.toString().stripTrailing().length())).append('\n');
        }
        out.append("* reference\n");
        if (report.sequenceMode()) {
            out.append("\nWhole answer per layer (median over prompts): lens log p of all its tokens, nats")
                    .append(" [median rank of its first token]\n");
            for (String[] r : wholeAnswerRows(report)) {
                StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "%-6s", r[0]));
                for (int c = 1; c < r.length; c++) line.append(String.format(Locale.ROOT, "  %24s", r[c]));
                out.append(line.toString().stripTrailing()).append('\n');
            }
        }
        return out.toString();
    }

    /**
     * Says which answers have several tokens and what the milestones then follow, or null when every answer is one
     * token and the mode is first.
     */
    static String answerLine(CompareReport report) {
        long multi = report.multiTokenPrompts();
        if (multi == 0 && !report.sequenceMode()) return null;
        StringBuilder sb = new StringBuilder();
        if (multi > 0) {
            CompareReport.PromptInfo example = report.prompts().stream().filter(CompareReport.PromptInfo::multiToken)
                    .findFirst().orElseThrow();
            sb.append("Answers of several tokens: ").append(multi).append(" of ").append(report.prompts().size())
                    .append(" prompts (e.g. ").append(TokenDisplay.quoted(example.expected())).append(" =");
            for (ProbeReport.TokenInfo t : example.answerTokens()) sb.append(' ').append(TokenDisplay.quoted(t.text()));
            sb.append("). ");
        }
        sb.append(report.sequenceMode()
                ? "Answer mode sequence: each answer is teacher-forced after its prompt; the rank milestones follow the whole"
                + " answer (its worst token rank per layer)."
                : "Answer mode first: only the first token is followed (--answer-mode sequence follows the whole answer).");
        return sb.toString();
    }

    /** Sequence mode: a header row (layer, variants), then per layer each variant's "log p [first-token rank]". */
    static List<String[]> wholeAnswerRows(CompareReport report) {
        List<String[]> rows = new ArrayList<>();
        List<VariantSummary> summary = report.summary();
        String[] header = new String[summary.size() + 1];
        header[0] = "layer";
        for (int v = 0; v < summary.size(); v++) header[v + 1] = summary.get(v).variant();
        rows.add(header);
        int layers = summary.isEmpty() ? 0 : summary.getFirst().meanKlBits().length;
        for (int l = 0; l < layers; l++) {
            String[] row = new String[summary.size() + 1];
            row[0] = Integer.toString(l);
            for (int v = 0; v < summary.size(); v++) {
                VariantSummary s = summary.get(v);
                Double lp = s.medianAnswerLogProb() == null ? null : s.medianAnswerLogProb()[l];
                Double rank = s.medianExpectedRank()[l];
                row[v + 1] = (lp == null ? "-" : String.format(Locale.ROOT, "%.3f", lp))
                        + (rank == null ? "" : " [" + num(rank) + "]");
            }
            rows.add(row);
        }
        return rows;
    }

    /** "KV cache: ..." once when every variant ran the same way, else per variant. */
    static String kvCacheLine(CompareReport report) {
        var settings = report.variants().stream().map(CompareReport.Variant::kvCache).filter(java.util.Objects::nonNull)
                .distinct().toList();
        if (settings.isEmpty()) return "KV cache: not recorded";
        if (settings.size() == 1) return "KV cache: " + TextReport.kvCache(settings.getFirst());
        StringBuilder sb = new StringBuilder("KV cache per variant:");
        for (CompareReport.Variant v : report.variants()) {
            if (v.kvCache() != null) sb.append("\n  ").append(v.name()).append(": ").append(TextReport.kvCache(v.kvCache()));
        }
        return sb.toString();
    }

    /** The table's cells: a header row, then one row per variant (the HTML report shows the same cells). */
    static List<String[]> rows(CompareReport report) {
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"variant", "type", "size", "bpw", "mean KL", "final KL", "flip@final",
                "rank 1", "rank<=5", "KL<1 bit", "shift rank 1", "shift KL<1"});
        for (int i = 0; i < report.variants().size(); i++) {
            Variant v = report.variants().get(i);
            VariantSummary s = report.summary().get(i);
            int last = s.meanKlBits().length - 1;
            rows.add(new String[] {
                v.name() + (v.reference() ? " *" : ""), v.fileType(), size(v.fileBytes()),
                String.format(Locale.ROOT, "%.2f", v.bitsPerWeight()),
                String.format(Locale.ROOT, "%.4g", s.meanKlAllLayersBits()),
                String.format(Locale.ROOT, "%.4g", s.meanKlBits()[last]),
                String.format(Locale.ROOT, "%.0f%%", 100 * s.top1FlipRate()[last]),
                stat(s.milestones().firstRank1()), stat(s.milestones().firstRankLe5()),
                stat(s.milestones().firstKlBelow1Bit()), stat(s.shifts().firstRank1()), stat(s.shifts().firstKlBelow1Bit())});
        }
        return rows;
    }

    /** "median [q1-q3]", "never" when the median is undefined, "-" when there were no values. */
    static String stat(Stat s) {
        if (s.count() == 0) return "-";
        if (s.median() == null) return "never";
        String median = num(s.median());
        if (s.q1() == null || s.q3() == null) return median + " [" + (s.q1() == null ? "never" : num(s.q1())) + "-never]";
        return median + " [" + num(s.q1()) + "-" + num(s.q3()) + "]";
    }

    private static String num(double v) {
        return v == Math.rint(v) ? String.format(Locale.ROOT, "%.0f", v) : String.format(Locale.ROOT, "%.2f", v);
    }

    private static String size(long bytes) {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
        double v = bytes;
        int u = 0;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return u == 0 ? bytes + " B" : String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }
}
