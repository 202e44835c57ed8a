package dev.gguflens.report;

import dev.gguflens.report.CompareReport.Stat;
import dev.gguflens.report.CompareReport.Variant;
import dev.gguflens.report.CompareReport.VariantSummary;

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
        out.append("Milestones are layers (0 = embeddings): median [q1-q3] over the prompts; 'never' when the median\n"
                + "is not reached. Shift = variant layer - reference layer. KL = KL(variant || reference) of the lens, bits.\n\n");
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
        return out.toString();
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
