package dev.gguflens.report;

import dev.gguflens.experiment.TraceReport;

import java.io.IOException;
import java.io.Writer;
import java.util.List;
import java.util.Locale;

/**
 * The causal-tracing picture as one self-contained HTML page: a layer x column grid coloured by the normalised
 * restoration (0 = the corrupted run, 1 = the clean run; the probability scale of the probe's heatmap), each cell
 * showing it, and a detail line for the focused or hovered cell ({@code #cell=LAYER,COLUMN} in the URL focuses one).
 */
public final class TraceHtml {
    private TraceHtml() {}

    public static String render(TraceReport r) {
        StringBuilder sb = new StringBuilder(16384);
        String rowName = r.site().equals("resid") ? "layer" : "block";
        sb.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>")
                .append(Html.escape("Causal trace: " + r.model().name() + " (" + r.site() + ")")).append("</title>\n<style>\n")
                .append("body{font:14px system-ui,sans-serif;margin:1.5em;color:#111}\n")
                .append("table{border-collapse:collapse}td,th{padding:0;text-align:center}\n")
                .append("th{font-weight:normal;font-size:12px;padding:2px 4px;white-space:pre}\n")
                .append("td.cell{min-width:3.4em;height:1.9em;font-size:12px;border:1px solid #fff;cursor:default}\n")
                .append("td.cell:focus{outline:2px solid #d7301f;outline-offset:-2px}\n")
                .append("th.col{writing-mode:vertical-rl;transform:rotate(180deg);vertical-align:bottom}\n")
                .append("#detail{margin:.8em 0;min-height:1.4em;font-family:ui-monospace,monospace}\n")
                .append(".legend{display:inline-block;width:14em;height:.9em;vertical-align:middle;background:")
                .append(HeatColors.cssGradient(false)).append("}\n</style></head>\n<body>\n");
        sb.append("<h1>Causal trace of ").append(Html.escape(r.model().name())).append(", site ").append(Html.escape(r.site()))
                .append("</h1>\n<p>clean: <code>").append(Html.escape(r.cleanPrompt())).append("</code><br>corrupted: <code>")
                .append(Html.escape(r.corruptPrompt())).append("</code><br>answer <code>").append(Html.escape(r.answer()))
                .append("</code> (token ").append(r.answerId()).append(' ').append(Html.escape(VisibleText.plain(r.answerToken())))
                .append(String.format(Locale.ROOT, "): p_clean %.4g, p_corrupt %.4g</p>%n", r.pClean(), r.pCorrupt()));
        String answerNote = TraceText.answerNote(r);
        if (answerNote != null) sb.append("<p id=\"answer-tokens\">").append(Html.escape(answerNote)).append("</p>\n");
        if (r.kvCache() != null) {
            sb.append("<p id=\"kv-cache\">KV cache: ").append(Html.escape(TextReport.kvCache(r.kvCache()))).append("</p>\n");
        }
        sb.append("<p>Each cell: the corrupted run with ").append(r.columnKind().equals("head")
                        ? "one head's output (at every position)" : "the state at one position")
                .append(" taken from the clean run; colour and number: restoration (p &minus; p_corrupt) / (p_clean &minus; p_corrupt). ")
                .append("0 <span class=\"legend\"></span> 1</p>\n");
        sb.append("<div id=\"detail\" aria-live=\"polite\"></div>\n<table id=\"grid\"><thead><tr><th>").append(rowName).append("</th>");
        List<String> labels = r.columnLabels();
        for (String label : labels) sb.append("<th class=\"col\">").append(Html.escape(VisibleText.plain(label))).append("</th>");
        sb.append("</tr></thead>\n<tbody>\n");
        for (TraceReport.Row row : r.rows()) {
            sb.append("<tr><th>").append(row.layer()).append("</th>");
            double[] p = row.p();
            for (int c = 0; c < p.length; c++) {
                double restoration = r.restoration(p[c]);
                int bg = HeatColors.probability(Double.isNaN(restoration) ? 0 : restoration);
                String shown = Double.isNaN(restoration) ? "-" : String.format(Locale.ROOT, "%.2f", restoration);
                String detail = String.format(Locale.ROOT, "%s %d \u00b7 %s %d %s: p " + (p[c] < 1e-3 ? "%.3e" : "%.4f")
                        + ", restoration %s", rowName, row.layer(), r.columnKind(), c, VisibleText.plain(labels.get(c)), p[c], shown);
                sb.append("<td class=\"cell\" tabindex=\"-1\" data-layer=\"").append(row.layer()).append("\" data-col=\"").append(c)
                        .append("\" data-detail=\"").append(Html.escape(detail)).append("\" style=\"background:")
                        .append(HeatColors.css(bg)).append(";color:").append(HeatColors.css(HeatColors.textOn(bg))).append("\">")
                        .append(shown).append("</td>");
            }
            sb.append("</tr>\n");
        }
        sb.append("</tbody></table>\n");
        sb.append("""
                <script>
                (function () {
                  var detail = document.getElementById('detail');
                  function show(cell) { detail.textContent = cell.getAttribute('data-detail'); }
                  var grid = document.getElementById('grid');
                  grid.addEventListener('mouseover', function (e) { if (e.target.classList.contains('cell')) show(e.target); });
                  grid.addEventListener('focusin', function (e) { if (e.target.classList.contains('cell')) show(e.target); });
                  var m = /cell=(\\d+),(\\d+)/.exec(location.hash);
                  var cells = grid.querySelectorAll('td.cell');
                  var start = cells.length ? cells[0] : null;
                  if (m) {
                    var found = grid.querySelector('td.cell[data-layer="' + m[1] + '"][data-col="' + m[2] + '"]');
                    if (found) start = found;
                  }
                  if (start) { start.tabIndex = 0; if (m) { start.focus(); show(start); } }
                  document.body.setAttribute('data-ready', '1');
                })();
                </script>
                </body></html>
                """);
        return sb.toString();
    }

    public static void write(TraceReport r, Writer out) throws IOException {
        out.write(render(r));
    }
}
