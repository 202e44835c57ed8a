package dev.gguflens.report;

import dev.gguflens.experiment.CompareReport;
import dev.gguflens.experiment.ProbeReport;

import java.io.IOException;
import java.io.Writer;
import java.util.List;
import java.util.Locale;

/**
 * {@code compare.html}: one self-contained page with the milestone table (the terminal table's cells), the
 * plot of mean KL to the reference and of the answer's median rank per layer (one curve per variant, inline
 * SVG), the per-layer top-1 flip rates and the prompts.
 */
public final class CompareHtml {
    private CompareHtml() {}

    public static void write(CompareReport report, Writer out) throws IOException {
        out.write(render(report));
    }

    public static String render(CompareReport report) {
        StringBuilder h = new StringBuilder(16384);
        h.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>gguf-lens compare: ")
                .append(Html.escape(report.reference())).append("</title>\n<style>")
                .append("body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;background:#fcfcfd}")
                .append("table{border-collapse:collapse;margin:8px 0 20px}td,th{border:1px solid #ddd;padding:3px 8px}")
                .append("th{background:#f1f3f6}td.num{text-align:right;font-variant-numeric:tabular-nums}")
                .append("tr.reference td{font-weight:600}code{font-size:13px}")
                .append("</style></head><body>\n");
        h.append("<h1>gguf-lens compare</h1>\n<p>Reference: <code>").append(Html.escape(report.reference()))
                .append("</code> &middot; lens: ").append(Html.escape(report.lens()))
                .append(" &middot; ").append(report.prompts().size()).append(" prompts &middot; top-k ")
                .append(report.topK()).append("</p>\n");
        for (String line : report.backendLines()) h.append("<p>Backend: ").append(Html.escape(line)).append("</p>\n");

        h.append("<h2>Milestones per variant</h2>\n<p>Layers (0 = embeddings): median [q1-q3] over the prompts; "
                + "shift = variant layer - reference layer; KL = KL(variant || reference) of the lens, bits.</p>\n");
        h.append("<table id=\"milestones\">\n");
        List<String[]> rows = CompareTable.rows(report);
        for (int r = 0; r < rows.size(); r++) {
            boolean header = r == 0;
            boolean reference = !header && report.variants().get(r - 1).reference();
            h.append(reference ? "<tr class=\"reference\">" : "<tr>");
            String[] cells = rows.get(r);
            for (int c = 0; c < cells.length; c++) {
                String tag = header ? "th" : "td";
                h.append('<').append(tag).append(!header && c > 1 ? " class=\"num\"" : "").append('>')
                        .append(Html.escape(cells[c])).append("</").append(tag).append('>');
            }
            h.append("</tr>\n");
        }
        h.append("</table>\n");

        String answers = CompareTable.answerLine(report);
        if (answers != null) h.append("<p id=\"answer-mode\">").append(Html.escape(answers)).append("</p>\n");
        if (report.sequenceMode()) {
            h.append("<h2>Whole answer per layer</h2>\n<p>Median over the prompts of the lens log-probability of the whole"
                    + " answer (nats, the sum over its teacher-forced tokens) [median rank of its first token].</p>\n"
                    + "<table id=\"whole-answer\">\n");
            List<String[]> whole = CompareTable.wholeAnswerRows(report);
            for (int r = 0; r < whole.size(); r++) {
                String tag = r == 0 ? "th" : "td";
                h.append("<tr>");
                for (int c = 0; c < whole.get(r).length; c++) {
                    h.append('<').append(tag).append(r > 0 && c > 0 ? " class=\"num\"" : "").append('>')
                            .append(Html.escape(whole.get(r)[c])).append("</").append(tag).append('>');
                }
                h.append("</tr>\n");
            }
            h.append("</table>\n");
        }
        h.append("<p id=\"kv-cache\">").append(Html.escape(CompareTable.kvCacheLine(report)).replace("\n", "<br>")).append("</p>\n");
        h.append("<h2>Across layers</h2>\n<div id=\"plot\">")
                .append(ComparePlot.render(report).replaceFirst("^<\\?xml[^>]*>\\s*", ""))
                .append("</div>\n");

        h.append("<h2>Top-1 flip rate per layer</h2>\n<p>Fraction of prompts whose lens top-1 differs from the "
                + "reference's at that layer.</p>\n<table id=\"flips\"><tr><th>variant</th>");
        int layers = report.summary().isEmpty() ? 0 : report.summary().getFirst().top1FlipRate().length;
        for (int l = 0; l < layers; l++) h.append("<th>L").append(l).append("</th>");
        h.append("</tr>\n");
        for (CompareReport.VariantSummary s : report.summary()) {
            h.append("<tr><td>").append(Html.escape(s.variant())).append("</td>");
            for (double f : s.top1FlipRate()) h.append("<td class=\"num\">").append(String.format(Locale.ROOT, "%.0f%%", 100 * f)).append("</td>");
            h.append("</tr>\n");
        }
        h.append("</table>\n");

        h.append("<h2>Prompts</h2>\n<ol>");
        for (CompareReport.PromptInfo p : report.prompts()) {
            h.append("<li><code>").append(Html.escape(p.prompt())).append("</code>");
            if (p.expected() != null) h.append(" &rarr; ").append(Html.escape(p.expected()));
            if (p.multiToken()) {
                h.append(" <span class=\"answer-tokens\">(").append(p.answerTokens().size()).append(" tokens:");
                for (ProbeReport.TokenInfo t : p.answerTokens()) h.append(' ').append(Html.escape(TokenDisplay.quoted(t.text())));
                h.append(")</span>");
            }
            h.append("</li>");
        }
        h.append("</ol>\n</body></html>\n");
        return h.toString();
    }
}
