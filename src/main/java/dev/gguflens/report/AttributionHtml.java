package dev.gguflens.report;

import dev.gguflens.experiment.AttributionReport;
import dev.gguflens.experiment.ProbeReport;

import java.io.IOException;
import java.io.Writer;
import java.util.List;
import java.util.Locale;

/**
 * The attribution as one self-contained HTML page (inline CSS, SVG and a few lines of JS; nothing is fetched): a
 * bar chart of every block's attention and MLP part, a block x head heatmap of the heads' parts (diverging colours,
 * red adds to the answer, blue takes away), the identity line and the notes.
 *
 * <p>Each bar is an SVG {@code rect.bar} with {@code data-block}, {@code data-part} (attention|mlp|embedding) and
 * {@code data-value}; each heatmap cell a {@code td.head} with {@code data-block}, {@code data-head},
 * {@code data-value} and a tab stop. Focusing or hovering a cell (or the URL fragment {@code #head=B,H}) writes
 * that head's part and share into {@code #detail}; the script marks {@code body[data-ready="1"]} when it has run.
 */
public final class AttributionHtml {
    private AttributionHtml() {}

    private static final int POSITIVE = 0xb2182b, NEGATIVE = 0x2166ac, ZERO = 0xf7f7f7;
    private static final int BAR_HEIGHT = 9, ROW_HEIGHT = 24, LABEL_WIDTH = 90, HALF_WIDTH = 260;

    public static void write(AttributionReport r, Writer out) throws IOException {
        out.write(render(r));
    }

    public static String render(AttributionReport r) {
        ProbeReport.ModelInfo m = r.model();
        StringBuilder h = new StringBuilder(16 * 1024 + r.blocks().size() * r.headCount() * 160);
        h.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
                .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
                .append("<title>gguf-lens attribute: ").append(Html.escape(m.name())).append("</title>\n")
                .append("<style>\n").append(CSS).append("</style>\n</head>\n<body>\n");
        h.append("<pre id=\"js-errors\" hidden></pre>\n");
        h.append("<header>\n<h1>gguf-lens attribute: ").append(Html.escape(m.name())).append("</h1>\n");
        h.append("<p>Prompt: <code>").append(Html.escape(TokenDisplay.quoted(r.prompt()))).append("</code>, position ")
                .append(r.position()).append(" (<code>").append(Html.escape(TokenDisplay.quoted(r.positionToken())))
                .append("</code>)</p>\n");
        h.append("<p>Decomposed: ").append(Html.escape(r.decomposed())).append(" &mdash; answer token ").append(r.answerId())
                .append(r.other() == null ? "" : ", versus token " + r.other().id()).append("</p>\n");
        List<String> answerLines = AttributionText.answerLines(r);
        if (!answerLines.isEmpty()) {
            h.append("<p id=\"answer-tokens\">").append(answerLines.stream().map(l -> Html.escape(l.strip()))
                    .collect(java.util.stream.Collectors.joining("<br>"))).append("</p>\n");
        }
        if (r.kvCache() != null) {
            h.append("<p id=\"kv-cache\">KV cache: ").append(Html.escape(TextReport.kvCache(r.kvCache()))).append("</p>\n");
        }
        h.append("<p id=\"identity\" class=\"").append(r.identity().ok() ? "ok" : "bad").append("\">")
                .append(Html.escape(AttributionText.identityLine(r))).append("</p>\n");
        if (!r.notes().isEmpty()) {
            h.append("<ul class=\"notes\">\n");
            for (String note : r.notes()) h.append("<li>").append(Html.escape(note)).append("</li>\n");
            h.append("</ul>\n");
        }
        h.append("</header>\n");
        bars(h, r);
        heads(h, r);
        h.append("<script>\n").append(SCRIPT).append("</script>\n</body>\n</html>\n");
        return h.toString();
    }

    /** Diverging horizontal bars around a zero line: one row for the embedding, then attention and MLP per block. */
    private static void bars(StringBuilder h, AttributionReport r) {
        double max = Math.abs(r.embedding());
        for (AttributionReport.Block b : r.blocks()) max = Math.max(max, Math.max(Math.abs(b.attention()), Math.abs(b.mlp())));
        if (!(max > 0)) max = 1;
        int rows = r.blocks().size() + 1;
        int width = LABEL_WIDTH + 2 * HALF_WIDTH + 20, height = rows * ROW_HEIGHT + 30;
        int zero = LABEL_WIDTH + HALF_WIDTH;
        h.append("<section id=\"blocks\">\n<h2>Each block's attention and MLP part</h2>\n")
                .append("<p class=\"legend\"><span class=\"swatch attention\"></span> attention <span class=\"swatch mlp\"></span> MLP")
                .append(" <span class=\"swatch embedding\"></span> embedding &mdash; right of the line adds to the ")
                .append(r.other() == null ? "logit" : "difference").append(fmt(", bar length up to %.4g", max)).append("</p>\n");
        h.append("<svg id=\"bar-chart\" role=\"img\" aria-label=\"attention and MLP part per block\" width=\"").append(width)
                .append("\" height=\"").append(height).append("\" viewBox=\"0 0 ").append(width).append(' ').append(height).append("\">\n");
        h.append("<line x1=\"").append(zero).append("\" x2=\"").append(zero).append("\" y1=\"0\" y2=\"").append(height - 20)
                .append("\" class=\"axis\"/>\n");
        bar(h, "embedding", -1, r.embedding(), 0, 0, max, zero, "embedding");
        for (AttributionReport.Block b : r.blocks()) {
            int row = b.block() + 1;
            bar(h, "attention", b.block(), b.attention(), row, 0, max, zero, "block " + b.block());
            bar(h, "mlp", b.block(), b.mlp(), row, 1, max, zero, null);
        }
        h.append("</svg>\n</section>\n");
    }

    private static void bar(StringBuilder h, String part, int block, double value, int row, int slot, double max, int zero,
                            String label) {
        int y = row * ROW_HEIGHT + 4 + slot * (BAR_HEIGHT + 1);
        double length = Math.abs(value) / max * HALF_WIDTH;
        double x = value >= 0 ? zero : zero - length;
        if (label != null) {
            h.append("<text x=\"").append(LABEL_WIDTH - 6).append("\" y=\"").append(row * ROW_HEIGHT + 15)
                    .append("\" text-anchor=\"end\">").append(Html.escape(label)).append("</text>\n");
        }
        h.append("<rect class=\"bar ").append(part).append("\" data-block=\"").append(block).append("\" data-part=\"")
                .append(part).append("\" data-value=\"").append(fmt("%.9g", value)).append("\" x=\"").append(fmt("%.2f", x))
                .append("\" y=\"").append(y).append("\" width=\"").append(fmt("%.2f", Math.max(length, 0.5)))
                .append("\" height=\"").append(BAR_HEIGHT).append("\"><title>").append(Html.escape(
                        (block < 0 ? "embedding" : "block " + block + " " + (part.equals("mlp") ? "MLP" : part))
                                + fmt(": %+.6f", value))).append("</title></rect>\n");
    }

    /** The block x head table, each cell coloured by its part relative to the largest |head part|. */
    private static void heads(StringBuilder h, AttributionReport r) {
        double max = 0;
        for (AttributionReport.Block b : r.blocks()) for (double v : b.heads()) max = Math.max(max, Math.abs(v));
        if (!(max > 0)) max = 1;
        h.append("<section id=\"heads\">\n<h2>Each head's part</h2>\n<p class=\"legend\">colour scale &plusmn;")
                .append(fmt("%.4g", max)).append(" (red adds, blue takes away); focus or hover a cell for its value</p>\n");
        h.append("<p id=\"detail\" aria-live=\"polite\">&nbsp;</p>\n");
        h.append("<div class=\"scroll\"><table id=\"head-map\" data-rows=\"").append(r.blocks().size()).append("\" data-cols=\"")
                .append(r.headCount()).append("\" data-sum=\"").append(fmt("%.9g", r.sumOfParts()))
                .append("\">\n<thead><tr><th scope=\"col\">block \\ head</th>");
        for (int head = 0; head < r.headCount(); head++) h.append("<th scope=\"col\">").append(head).append("</th>");
        h.append("<th scope=\"col\">attention</th></tr></thead>\n<tbody>\n");
        for (AttributionReport.Block b : r.blocks()) {
            h.append("<tr><th scope=\"row\">").append(b.block()).append("</th>");
            List<Double> values = b.heads();
            for (int head = 0; head < values.size(); head++) {
                double v = values.get(head);
                int bg = diverging(v / max);
                h.append("<td class=\"head\" tabindex=\"-1\" data-block=\"").append(b.block()).append("\" data-head=\"")
                        .append(head).append("\" data-value=\"").append(fmt("%.9g", v)).append("\" style=\"background:")
                        .append(HeatColors.css(bg)).append(";color:").append(HeatColors.css(HeatColors.textOn(bg)))
                        .append("\" title=\"block ").append(b.block()).append(" head ").append(head).append(fmt(": %+.6f", v))
                        .append("\">").append(fmt("%.3f", v)).append("</td>");
            }
            h.append("<td class=\"num\">").append(fmt("%.3f", b.attention())).append("</td></tr>\n");
        }
        h.append("</tbody></table></div>\n</section>\n");
    }

    /** White at 0, red towards +1, blue towards -1 (t clamped to [-1, 1]). */
    static int diverging(double t) {
        double a = Math.min(1, Math.abs(t));
        int to = t >= 0 ? POSITIVE : NEGATIVE;
        int rgb = 0;
        for (int shift = 16; shift >= 0; shift -= 8) {
            int from = ZERO >> shift & 0xff, end = to >> shift & 0xff;
            rgb |= (int) Math.round(from + (end - from) * a) << shift;
        }
        return rgb;
    }

    private static String fmt(String format, Object... args) {
        return String.format(Locale.ROOT, format, args);
    }

    private static final String CSS = """
            body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
            h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.5em; }
            code { background: #f3f3f3; padding: 0 .2em; }
            #identity.ok { color: #1a7f37; } #identity.bad { color: #b2182b; font-weight: bold; }
            .notes { color: #555; max-width: 60em; }
            svg text { font-size: 12px; fill: #333; }
            .axis { stroke: #888; stroke-width: 1; }
            .bar.attention, .swatch.attention { fill: #e6550d; background: #e6550d; }
            .bar.mlp, .swatch.mlp { fill: #3182bd; background: #3182bd; }
            .bar.embedding, .swatch.embedding { fill: #756bb1; background: #756bb1; }
            .swatch { display: inline-block; width: .9em; height: .9em; vertical-align: middle; }
            .scroll { overflow-x: auto; }
            #head-map { border-collapse: collapse; font-variant-numeric: tabular-nums; }
            #head-map th, #head-map td { border: 1px solid #ddd; padding: 2px 5px; text-align: right; font-size: 12px; }
            #head-map td.head:focus, #head-map td.head.current { outline: 2px solid #000; outline-offset: -2px; }
            #detail { min-height: 1.4em; font-weight: bold; }
            """;

    private static final String SCRIPT = """
            (function () {
              var errors = document.getElementById('js-errors');
              try {
                var table = document.getElementById('head-map');
                var detail = document.getElementById('detail');
                var sum = parseFloat(table.getAttribute('data-sum'));
                var cells = table.querySelectorAll('td.head');
                function show(cell) {
                  cells.forEach(function (c) { c.classList.remove('current'); c.tabIndex = -1; });
                  cell.classList.add('current');
                  cell.tabIndex = 0;
                  var v = parseFloat(cell.getAttribute('data-value'));
                  detail.textContent = 'block ' + cell.getAttribute('data-block') + ' head ' + cell.getAttribute('data-head')
                    + ': ' + (v >= 0 ? '+' : '') + v.toFixed(6)
                    + (sum !== 0 ? ' (' + (100 * v / sum).toFixed(1) + '% of the sum of parts)' : '');
                }
                cells.forEach(function (c) {
                  c.addEventListener('focus', function () { show(c); });
                  c.addEventListener('mouseenter', function () { show(c); });
                });
                if (cells.length > 0) cells[0].tabIndex = 0;
                var m = /(?:^#|&)head=(\\d+),(\\d+)/.exec(location.hash);
                if (m) {
                  var target = table.querySelector('td.head[data-block="' + m[1] + '"][data-head="' + m[2] + '"]');
                  if (target) { show(target); target.focus(); }
                }
              } catch (e) {
                errors.hidden = false;
                errors.textContent = String(e && e.stack || e);
              }
              document.body.setAttribute('data-ready', '1');
            })();
            """;
}
