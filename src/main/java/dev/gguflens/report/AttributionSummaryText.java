package dev.gguflens.report;

import dev.gguflens.experiment.AttributionReport;
import dev.gguflens.experiment.ProbeReport;

import java.io.IOException;
import java.io.Writer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * A prompt set's attribution as a terminal table (mean ± standard deviation per block part, the top heads by
 * |mean|) and its CSV, {@code part, block, head, mean, std, min, max}.
 */
public final class AttributionSummaryText {
    private AttributionSummaryText() {}

    public static String render(AttributionSummary s, int top) {
        StringBuilder out = new StringBuilder(4096);
        ProbeReport.ModelInfo m = s.model();
        out.append("=== gguf-lens attribute: ").append(m.name()).append(", ").append(s.prompts().size()).append(" prompts ===\n");
        for (AttributionSummary.PromptLine p : s.prompts()) {
            out.append(fmt("  %-60s -> %-12s logit %10.4f  identity %.1e%s%n", TokenDisplay.quoted(shorten(p.prompt(), 58)),
                    TokenDisplay.quoted(p.answerToken()), p.sumOfParts(), p.identityRelDiff(), p.answerTokens() < 2 ? ""
                            : "sequence".equals(p.answerMode()) ? "  (" + p.answerTokens() + " tokens, all attributed)"
                            : "  (first of " + p.answerTokens() + " tokens)"));
        }
        for (String note : s.notes()) out.append("Note: ").append(note).append('\n');
        out.append('\n');
        out.append(fmt("%-10s %22s %22s%n", "part", "attention mean ± std", "MLP mean ± std"));
        out.append(fmt("%-10s %22s%n", "embedding", pm(s.embedding())));
        for (AttributionSummary.Block b : s.blocks()) {
            out.append(fmt("%-10s %22s %22s%n", "block " + b.block(), pm(b.attention()), pm(b.mlp())));
        }
        out.append(fmt("%-10s %22s%n", "sum", pm(s.sumOfParts())));
        out.append('\n');
        record Head(int block, int head, AttributionSummary.Stats stats) {}
        List<Head> heads = new ArrayList<>();
        for (AttributionSummary.Block b : s.blocks()) {
            for (int h = 0; h < b.heads().size(); h++) heads.add(new Head(b.block(), h, b.heads().get(h)));
        }
        List<Head> sorted = heads.stream().sorted(Comparator.comparingDouble((Head h) -> -Math.abs(h.stats().mean())))
                .limit(top).toList();
        out.append(fmt("Top %d heads by |mean|:%n", sorted.size()));
        for (Head h : sorted) {
            out.append(fmt("  %-20s %22s  [%+.4f, %+.4f]%n", "block " + h.block() + " head " + h.head(), pm(h.stats()),
                    h.stats().min(), h.stats().max()));
        }
        out.append('\n');
        out.append(fmt("Identity over all prompts: worst relative |sum of parts - llama.cpp| %.2g (tolerance %.0e) %s%n",
                s.worstIdentityRelDiff(), AttributionReport.Identity.TOLERANCE, s.identityOk() ? "ok" : "MISMATCH"));
        return out.toString();
    }

    public static void write(AttributionSummary s, int top, Writer out) throws IOException {
        out.write(render(s, top));
    }

    public static void writeCsv(AttributionSummary s, Writer out) throws IOException {
        out.write(CsvReports.row("part", "block", "head", "mean", "std", "min", "max"));
        csvRow(out, "embedding", "", "", s.embedding());
        for (AttributionSummary.Block b : s.blocks()) {
            csvRow(out, "attention", b.block(), "", b.attention());
            for (int h = 0; h < b.heads().size(); h++) csvRow(out, "head", b.block(), h, b.heads().get(h));
            csvRow(out, "mlp", b.block(), "", b.mlp());
        }
        csvRow(out, "sum_of_parts", "", "", s.sumOfParts());
    }

    private static void csvRow(Writer out, String part, Object block, Object head, AttributionSummary.Stats st) throws IOException {
        out.write(CsvReports.row(part, block, head, num(st.mean()), num(st.std()), num(st.min()), num(st.max())));
    }

    private static String pm(AttributionSummary.Stats st) {
        return fmt("%+.4f ± %.4f", st.mean(), st.std());
    }

    private static String shorten(String s, int max) {
        if (s.codePointCount(0, s.length()) <= max) return s;
        return s.substring(0, s.offsetByCodePoints(0, max - 1)) + "…";
    }

    private static String num(double v) {
        return fmt("%.9g", v);
    }

    private static String fmt(String format, Object... args) {
        return String.format(Locale.ROOT, format, args);
    }
}
