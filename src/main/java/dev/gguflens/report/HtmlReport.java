package dev.gguflens.report;

import dev.gguflens.experiment.ProbeReport;
import dev.gguflens.experiment.ProbeReport.Expected;
import dev.gguflens.experiment.ProbeReport.LayerEntry;
import dev.gguflens.experiment.ProbeReport.Milestone;
import dev.gguflens.experiment.ProbeReport.TopToken;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The probe as one self-contained HTML page (inline CSS, JS and SVG; nothing is fetched): the layer x position
 * heatmap of top-1 tokens, coloured by probability or entropy, with the top 5 on hover or keyboard focus; the
 * expected answer's rank and probability and the KL to the final layer across layers; and the final prediction,
 * consistency check, milestones, extra prompts, temperature sweep and model stats.
 *
 * <p>Heatmap orientation: layer 0 (the embeddings, "L0 emb") is the top row and the final layer the bottom row,
 * the same order as the text report. Every cell is a {@code td.cell} with {@code data-layer}, {@code data-pos},
 * {@code data-p} (top-1 probability), {@code data-entropy} (bits), {@code data-top} (JSON array of up to five
 * {@code {id, token, shown, p}}, {@code token} the raw text) and {@code data-expected} (JSON array of
 * {@code {text, shown, id, rank, p}}).
 */
public final class HtmlReport {
    private HtmlReport() {}

    /** How many tokens the hover shows. */
    static final int HOVER_TOP = 5;

    private static final String[] SERIES_COLOURS = {"#225ea8", "#e6550d", "#31a354", "#756bb1", "#d62728", "#636363"};

    public static void write(ProbeReport r, Writer out) throws IOException {
        out.write(render(r));
    }

    public static String render(ProbeReport r) {
        HeatmapGrid grid = HeatmapGrid.of(r);
        ProbeReport.ModelInfo m = r.model();
        StringBuilder h = new StringBuilder(64 * 1024 + grid.rowCount() * grid.columnCount() * 400);
        h.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
                .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
                .append("<title>gguf-lens: ").append(Html.escape(m.name())).append("</title>\n")
                .append("<style>\n").append(resource("report.css")).append("</style>\n</head>\n<body>\n");
        h.append("<pre id=\"js-errors\" hidden></pre>\n");
        h.append("<header>\n<h1>gguf-lens logit lens: ").append(Html.escape(m.name())).append("</h1>\n");
        h.append("<p>Prompt: <code class=\"tok\">").append(Html.escape(TokenDisplay.quoted(r.prompt()))).append("</code>")
                .append(" <span class=\"muted\">(").append(r.tokens().size()).append(" tokens; lens: ")
                .append(Html.escape(r.lens())).append(")</span></p>\n");
        if (m.backend() != null) {
            h.append("<p class=\"muted\">Backend: ").append(Html.escape(m.backend().line()));
            if (m.backend().warning() != null) h.append(" &middot; warning: ").append(Html.escape(m.backend().warning()));
            h.append("</p>\n");
        }
        List<Expected> tracked = r.layers().getFirst().expected() == null ? List.of() : r.layers().getFirst().expected();
        if (r.kvCache() != null) {
            h.append("<p id=\"kv-cache\">KV cache: ").append(Html.escape(TextReport.kvCache(r.kvCache()))).append("</p>\n");
        }
        for (int i = 0; i < tracked.size(); i++) {
            Expected e = tracked.get(i);
            h.append("<p>Expected answer: <code class=\"tok\">").append(VisibleText.html(e.text()))
                    .append("</code> <span class=\"muted\">(token ").append(e.id()).append(")</span>");
            ProbeReport.Answer a = TextReport.answer(r, i);
            if (a != null && a.multiToken()) {
                h.append(" <span class=\"multi-token\">").append(Html.escape(TextReport.multiTokenNote(a))).append("</span>");
            }
            h.append("</p>\n");
        }
        h.append("</header>\n");

        heatmap(h, grid, tracked);
        answerCharts(h, r, tracked);
        finalPrediction(h, r.finalPrediction());
        consistency(h, r.consistency());
        milestones(h, r.milestones());
        extraPrompts(h, r.extraPrompts());
        temperatures(h, r.temperatures());
        modelStats(h, r);

        h.append("<script>\n").append(resource("report.js")).append("</script>\n</body>\n</html>\n");
        return h.toString();
    }

    // ---------------------------------------------------------------- heatmap

    private static void heatmap(StringBuilder h, HeatmapGrid grid, List<Expected> tracked) {
        // a round scale top (1, 2 or 5 x 10^k bits) gives readable legend ticks
        double maxEntropy = SvgChart.niceCeiling(grid.maxEntropyBits());
        h.append("<section id=\"heatmap\" data-colour=\"probability\">\n<h2>Top-1 token per layer and position</h2>\n");
        h.append("<p class=\"note\">Rows: layers, <b>L0 emb</b> (token embeddings) at the top, the final layer (L")
                .append(grid.layers().getLast()).append(") at the bottom; Ln is the output of block n&minus;1. Columns: prompt positions, ")
                .append("headed by the prompt token there; each cell shows what the lens predicts for the <i>next</i> token. ")
                .append("Hover a cell, or tab into the grid and use the arrow keys, for the top ").append(HOVER_TOP).append(". ");
        if (grid.columnCount() == 1) h.append("Only the last position was kept for this probe. ");
        if (!tracked.isEmpty()) h.append("An orange frame marks a cell whose top-1 is the expected answer. ");
        h.append("<span class=\"ws\">").append(VisibleText.SPACE_MARK).append("</span> = space, <span class=\"ws\">")
                .append(VisibleText.NEWLINE_MARK).append("</span> = newline, <span class=\"ws\">").append(VisibleText.TAB_MARK)
                .append("</span> = tab.</p>\n");
        h.append("<div class=\"controls\" role=\"radiogroup\" aria-label=\"Colour cells by\">Colour by:\n")
                .append("<label><input type=\"radio\" name=\"colour\" value=\"probability\" checked> top-1 probability</label>\n")
                .append("<label><input type=\"radio\" name=\"colour\" value=\"entropy\"> entropy (bits)</label>\n");
        legend(h, "legend-p", "top-1 probability", HeatColors.cssGradient(false), 0, 1, "%.2f");
        legend(h, "legend-h", "entropy, bits (dark = confident)", HeatColors.cssGradient(true), 0, maxEntropy, "%.1f");
        h.append("</div>\n");

        h.append("<div class=\"heat-scroll\">\n<table class=\"heat\" id=\"heat\" data-rows=\"").append(grid.rowCount())
                .append("\" data-cols=\"").append(grid.columnCount()).append("\">\n<thead><tr><th class=\"corner\" scope=\"col\">layer \\ pos</th>");
        for (HeatmapGrid.Column c : grid.columns()) {
            h.append("<th class=\"col\" scope=\"col\" data-pos=\"").append(c.pos()).append("\" data-token-id=\"").append(c.tokenId())
                    .append("\"><span class=\"pos\">").append(c.pos()).append("</span><span class=\"tok\">")
                    .append(VisibleText.html(c.token())).append("</span></th>");
        }
        h.append("</tr></thead>\n<tbody>\n");
        boolean first = true;
        for (int row = 0; row < grid.rowCount(); row++) {
            int layer = grid.layers().get(row);
            h.append("<tr data-layer=\"").append(layer).append(grid.cell(row, 0).mid() ? "\" data-site=\"mid" : "")
                    .append("\"><th scope=\"row\">").append(grid.rowLabel(row)).append("</th>");
            for (int col = 0; col < grid.columnCount(); col++) {
                LayerEntry cell = grid.cell(row, col);
                TopToken top1 = cell.top().getFirst();
                int pColour = HeatColors.probability(top1.p());
                int hColour = HeatColors.entropy(cell.entropyBits(), maxEntropy);
                boolean hit = cell.expected() != null && cell.expected().stream().anyMatch(e -> e.id() == top1.id());
                h.append("<td class=\"cell").append(hit ? " hit" : "").append("\" data-layer=\"").append(layer)
                        .append("\" data-pos=\"").append(grid.columns().get(col).pos())
                        .append("\" data-p=\"").append(num(top1.p())).append("\" data-entropy=\"").append(num(cell.entropyBits()))
                        .append("\" data-top=\"").append(Html.escape(topJson(cell.top()))).append('"');
                if (cell.expected() != null && !cell.expected().isEmpty()) {
                    h.append(" data-expected=\"").append(Html.escape(expectedJson(cell.expected()))).append('"');
                }
                h.append(" style=\"--cp:").append(HeatColors.css(pColour)).append(";--tp:").append(HeatColors.css(HeatColors.textOn(pColour)))
                        .append(";--ch:").append(HeatColors.css(hColour)).append(";--th:").append(HeatColors.css(HeatColors.textOn(hColour)))
                        .append("\" tabindex=\"").append(first ? "0" : "-1").append("\" aria-label=\"")
                        .append(Html.escape(ariaLabel(layer, grid.columns().get(col).pos(), cell))).append("\">")
                        .append(VisibleText.html(top1.token())).append("</td>");
                first = false;
            }
            h.append("</tr>\n");
        }
        h.append("</tbody>\n</table>\n</div>\n<div id=\"tip\" role=\"tooltip\" hidden></div>\n</section>\n");
    }

    private static void legend(StringBuilder h, String cls, String title, String gradient, double min, double max, String tickFormat) {
        h.append("<div class=\"legend ").append(cls).append("\"><span>").append(Html.escape(title)).append("</span>")
                .append("<span class=\"legend-box\"><span class=\"bar\" style=\"background:").append(gradient).append("\"></span><span class=\"ticks\">");
        for (int i = 0; i <= 4; i++) {
            h.append("<span style=\"left:").append(i * 25).append("%\">").append(fmt(tickFormat, min + (max - min) * i / 4)).append("</span>");
        }
        h.append("</span></span></div>\n");
    }

    private static String topJson(List<TopToken> top) {
        List<Map<String, Object>> items = new ArrayList<>();
        for (TopToken t : top.subList(0, Math.min(HOVER_TOP, top.size()))) {
            Map<String, Object> item = new LinkedHashMap<>();
            item.put("id", t.id());
            item.put("token", t.token());
            item.put("shown", VisibleText.plain(t.token()));
            item.put("p", t.p());
            items.add(item);
        }
        return Json.compact(items);
    }

    private static String expectedJson(List<Expected> expected) {
        List<Map<String, Object>> items = new ArrayList<>();
        for (Expected e : expected) {
            Map<String, Object> item = new LinkedHashMap<>();
            item.put("text", e.text());
            item.put("shown", VisibleText.plain(e.text()));
            item.put("id", e.id());
            item.put("rank", e.rank());
            item.put("p", e.p());
            items.add(item);
        }
        return Json.compact(items);
    }

    private static String ariaLabel(int layer, int pos, LayerEntry cell) {
        StringBuilder sb = new StringBuilder(HeatmapGrid.rowLabel(cell)).append(", position ").append(pos).append(": ");
        List<TopToken> top = cell.top();
        for (int i = 0; i < Math.min(HOVER_TOP, top.size()); i++) {
            if (i > 0) sb.append(", ");
            sb.append(TokenDisplay.quoted(top.get(i).token())).append(' ').append(fmt("%.3f", top.get(i).p()));
        }
        return sb.toString();
    }

    // ---------------------------------------------------------------- charts

    private static void answerCharts(StringBuilder h, ProbeReport r, List<Expected> tracked) {
        // the curves run over the residual layers; mid-block rows (--sublayers) are in the table and heatmap
        List<LayerEntry> rows = r.layers().stream().filter(l -> !l.mid()).toList();
        List<Integer> layers = rows.stream().map(LayerEntry::layer).toList();
        h.append("<section id=\"curves\">\n<h2>Across layers (last position)</h2>\n<div class=\"charts\">\n");
        if (tracked.isEmpty()) {
            h.append("<p class=\"note\">No expected answer was given, so there is no rank curve.</p>\n");
        } else {
            List<SvgChart.Series> ranks = new ArrayList<>(), probabilities = new ArrayList<>();
            for (int k = 0; k < tracked.size(); k++) {
                double[] rank = new double[layers.size()], p = new double[layers.size()];
                for (int i = 0; i < layers.size(); i++) {
                    List<Expected> here = rows.get(i).expected();
                    // a layer without this answer leaves a gap in the curve rather than failing the report
                    rank[i] = here != null && k < here.size() ? here.get(k).rank() : Double.NaN;
                    p[i] = here != null && k < here.size() ? here.get(k).p() : Double.NaN;
                }
                String name = TokenDisplay.quoted(tracked.get(k).text());
                String colour = SERIES_COLOURS[k % SERIES_COLOURS.length];
                ranks.add(new SvgChart.Series(name, colour, rank));
                probabilities.add(new SvgChart.Series(name, colour, p));
            }
            double maxRank = ranks.stream().flatMapToDouble(s -> java.util.Arrays.stream(s.values())).max().orElse(1);
            h.append(SvgChart.line("rank-chart", "Expected answer: rank (log scale, 1 = top)", "rank", layers, ranks,
                    SvgChart.Axis.logRank(maxRank)));
            h.append(SvgChart.line("prob-chart", "Expected answer: probability", "p", layers, probabilities,
                    SvgChart.Axis.linear(0, 1, "%.2f")));
        }
        double[] kl = rows.stream().mapToDouble(LayerEntry::klToFinalBits).toArray();
        double maxKl = java.util.Arrays.stream(kl).filter(Double::isFinite).max().orElse(1);
        h.append(SvgChart.line("kl-chart", "KL divergence to the final layer", "bits", layers,
                List.of(new SvgChart.Series("KL to final", "#756bb1", kl)), SvgChart.Axis.linear(0, SvgChart.niceCeiling(maxKl), "%.3g")));
        double[] entropy = rows.stream().mapToDouble(LayerEntry::entropyBits).toArray();
        double maxEntropy = java.util.Arrays.stream(entropy).filter(Double::isFinite).max().orElse(1);
        h.append(SvgChart.line("entropy-chart", "Entropy of the lens distribution", "bits", layers,
                List.of(new SvgChart.Series("entropy", "#31a354", entropy)), SvgChart.Axis.linear(0, SvgChart.niceCeiling(maxEntropy), "%.3g")));
        h.append("</div>\n");
        if (!tracked.isEmpty()) {
            h.append("<table class=\"data\" id=\"answer-table\"><tr><th>layer</th>");
            boolean whole = tracked.stream().anyMatch(e -> e.answerLogProb() != null);
            for (Expected e : tracked) {
                h.append("<th>").append(VisibleText.html(e.text())).append(" rank</th><th>p</th>");
                if (whole) h.append("<th>whole answer log p</th><th>worst token rank</th>");
            }
            h.append("<th>KL to final (bits)</th><th>top-1</th></tr>\n");
            for (LayerEntry l : r.layers()) {
                h.append("<tr><td>").append(HeatmapGrid.rowLabel(l)).append("</td>");
                for (Expected e : l.expected() == null ? List.<Expected>of() : l.expected()) {
                    h.append("<td class=\"num\">").append(e.rank()).append("</td><td class=\"num\">").append(fmt("%.4f", e.p())).append("</td>");
                    if (e.answerLogProb() != null) {
                        h.append("<td class=\"num\">").append(fmt("%.3f", e.answerLogProb())).append("</td><td class=\"num\">")
                                .append(e.answerWorstRank()).append("</td>");
                    }
                }
                h.append("<td class=\"num\">").append(fmt("%.3f", l.klToFinalBits())).append("</td><td class=\"tok\">")
                        .append(VisibleText.html(l.top().getFirst().token())).append("</td></tr>\n");
            }
            h.append("</table>\n");
        }
        h.append("</section>\n");
    }

    // ---------------------------------------------------------------- tables

    private static void finalPrediction(StringBuilder h, ProbeReport.FinalPrediction f) {
        if (f == null) return;
        h.append("<section id=\"final\">\n<h2>Model's final prediction</h2>\n<p>Entropy ").append(fmt("%.3f", f.entropyNats()))
                .append(" nats (").append(fmt("%.3f", f.entropyBits())).append(" bits)</p>\n");
        topTable(h, f.top());
        h.append("</section>\n");
    }

    private static void consistency(StringBuilder h, ProbeReport.Consistency c) {
        if (c == null) return;
        boolean split = c.unexplainedKlBits() != null;
        h.append("<section id=\"consistency\">\n<h2>Consistency check</h2>\n<p class=\"note\">The lens applied to the last layer ")
                .append("against llama.cpp's own logits for the last position. llama.cpp's CPU head rounds the activations to the ")
                .append("output weight's dot-product type; the head recomputed with that rounding should match llama.cpp, so ")
                .append("only the unexplained gap is a warning sign.</p>\n")
                .append("<table class=\"data\"><tr><th>KL (bits)</th><td class=\"num\">").append(fmt("%.3g", c.klBits()))
                .append("</td></tr><tr><th>max |&Delta; logit|</th><td class=\"num\">").append(fmt("%.3g", c.maxAbsLogitDiff()))
                .append("</td></tr><tr><th>top-1</th><td>").append(c.top1Agree() ? "<span class=\"ok\">agrees</span>" : "<span class=\"warn\">DIFFERS</span>");
        if (split) {
            h.append("</td></tr><tr><th>explained by ").append(Html.escape(c.activationRounding())).append(" activation rounding</th><td class=\"num\">KL ")
                    .append(fmt("%.3g", c.expectedKlBits())).append(" bits, max |&Delta;| ").append(fmt("%.3g", c.expectedMaxAbsLogitDiff()))
                    .append("</td></tr><tr><th>unexplained</th><td class=\"num\">KL ").append(fmt("%.3g", c.unexplainedKlBits()))
                    .append(" bits, max |&Delta;| ").append(fmt("%.3g", c.unexplainedMaxAbsLogitDiff()));
        }
        h.append("</td></tr><tr><th>verdict</th><td>")
                .append(c.warning() ? "<span class=\"warn\">WARNING: " + Html.escape(TextReport.warningText(c)) + "</span>" : "<span class=\"ok\">ok</span>")
                .append("</td></tr></table>\n</section>\n");
    }

    private static void milestones(StringBuilder h, ProbeReport.Milestones ms) {
        if (ms == null) return;
        h.append("<section id=\"milestones\">\n<h2>Milestones (last position)</h2>\n<table class=\"data\">\n");
        milestone(h, "first layer with the answer at rank 1", ms.firstRank1());
        milestone(h, "first layer with the answer in the top 5", ms.firstRankLe5());
        milestone(h, "first layer with the answer in the top 10", ms.firstRankLe10());
        milestone(h, "first layer with KL to final &lt; 1 bit", ms.firstKlBelow1Bit());
        milestone(h, "first layer with KL to final &lt; 0.5 bit", ms.firstKlBelowHalfBit());
        milestone(h, "copy collapse" + (ms.copyCollapseToken() == null ? ""
                : " on <code class=\"tok\">" + VisibleText.html(ms.copyCollapseToken()) + "</code>"), ms.copyCollapse());
        h.append("</table>\n</section>\n");
    }

    private static void milestone(StringBuilder h, String whatHtml, Milestone m) {
        h.append("<tr><th>").append(whatHtml).append("</th><td>");
        if (m == null || m.layer() == null) h.append("never");
        else h.append(HeatmapGrid.layerLabel(m.layer())).append(m.fraction() == null ? "" : fmt(" (%.0f%% of depth)", 100 * m.fraction()));
        h.append("</td></tr>\n");
    }

    private static void extraPrompts(StringBuilder h, List<ProbeReport.ExtraPrompt> extras) {
        if (extras == null || extras.isEmpty()) return;
        h.append("<section id=\"extra-prompts\">\n<h2>Extra prompts (final layer)</h2>\n<table class=\"data\">\n")
                .append("<tr><th>prompt</th><th>expected</th><th>rank</th><th>p</th><th>entropy (bits)</th><th>top ").append(HOVER_TOP).append("</th></tr>\n");
        for (ProbeReport.ExtraPrompt e : extras) {
            h.append("<tr><td class=\"tok\">").append(Html.escape(TokenDisplay.quoted(e.prompt()))).append("</td><td class=\"tok\">")
                    .append(e.expected() == null ? "" : VisibleText.html(e.expected()))
                    .append(e.expectedTokens() != null && e.expectedTokens() > 1
                            ? " <span class=\"muted\">(" + e.expectedTokens() + " tokens, first tracked)</span>" : "")
                    .append("</td><td class=\"num\">")
                    .append(e.expectedRank() == null ? "" : e.expectedRank()).append("</td><td class=\"num\">")
                    .append(e.expectedP() == null ? "" : fmt("%.4f", e.expectedP())).append("</td><td class=\"num\">")
                    .append(fmt("%.3f", e.entropyBits())).append("</td><td>").append(inlineTop(e.top())).append("</td></tr>\n");
        }
        h.append("</table>\n</section>\n");
    }

    private static void temperatures(StringBuilder h, List<ProbeReport.TemperaturePoint> points) {
        if (points == null || points.isEmpty()) return;
        h.append("<section id=\"temperatures\">\n<h2>Temperature sweep (final logits / T)</h2>\n<table class=\"data\">\n")
                .append("<tr><th>T</th><th>entropy (bits)</th><th>top ").append(HOVER_TOP).append("</th></tr>\n");
        for (ProbeReport.TemperaturePoint t : points) {
            h.append("<tr><td class=\"num\">").append(fmt("%.2f", t.temperature())).append("</td><td class=\"num\">")
                    .append(fmt("%.3f", t.entropyBits())).append("</td><td>").append(inlineTop(t.top())).append("</td></tr>\n");
        }
        h.append("</table>\n</section>\n");
    }

    private static void modelStats(StringBuilder h, ProbeReport r) {
        ProbeReport.ModelInfo m = r.model();
        h.append("<section id=\"model\">\n<h2>Model</h2>\n<table class=\"data\">\n");
        row(h, "name", Html.escape(m.name()));
        row(h, "file", "<code>" + Html.escape(m.file()) + "</code>");
        row(h, "architecture", Html.escape(m.architecture()));
        row(h, "parameters", fmt("%,d", m.nParams()));
        row(h, "blocks (n_layer)", String.valueOf(m.nLayer()));
        row(h, "d_model (n_embd)", String.valueOf(m.nEmbd()));
        row(h, "heads / KV heads", m.nHead() + " / " + m.nHeadKv());
        row(h, "vocabulary", String.valueOf(m.nVocab()));
        row(h, "trained context", String.valueOf(m.nCtxTrain()));
        row(h, "file type / output weight", Html.escape(m.fileType()) + " / " + Html.escape(String.valueOf(m.outputWeightType())));
        row(h, "file size", fmt("%,d bytes", m.fileBytes()));
        ProbeReport.Timings t = r.timings();
        if (t != null) {
            row(h, "timings", fmt("model load %.1f ms, forward %.1f ms (other prompts and answers %.1f ms), lens %.1f ms, report %.1f ms, peak RSS %.1f MiB",
                    t.modelLoadMs(), t.forwardMs(), t.extraForwardMs(), t.lensMs(), t.reportMs(), t.peakRssBytes() / 1048576.0));
        }
        h.append("</table>\n<p class=\"note\">Prompt tokens: ");
        for (ProbeReport.TokenInfo tok : r.tokens()) {
            h.append("<code class=\"tok\">").append(VisibleText.html(tok.text())).append("</code><sub>").append(tok.id()).append("</sub> ");
        }
        h.append("</p>\n</section>\n");
    }

    private static void topTable(StringBuilder h, List<TopToken> top) {
        h.append("<table class=\"data\"><tr><th>#</th><th>token</th><th>id</th><th>p</th></tr>\n");
        for (int i = 0; i < top.size(); i++) {
            TopToken t = top.get(i);
            h.append("<tr><td class=\"num\">").append(i + 1).append("</td><td class=\"tok\">").append(VisibleText.html(t.token()))
                    .append("</td><td class=\"num\">").append(t.id()).append("</td><td class=\"num\">").append(fmt("%.4f", t.p())).append("</td></tr>\n");
        }
        h.append("</table>\n");
    }

    private static String inlineTop(List<TopToken> top) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < Math.min(HOVER_TOP, top.size()); i++) {
            if (i > 0) sb.append(", ");
            sb.append("<code class=\"tok\">").append(VisibleText.html(top.get(i).token())).append("</code> ").append(fmt("%.3f", top.get(i).p()));
        }
        return sb.toString();
    }

    private static void row(StringBuilder h, String key, String valueHtml) {
        h.append("<tr><th>").append(Html.escape(key)).append("</th><td>").append(valueHtml).append("</td></tr>\n");
    }

    // ---------------------------------------------------------------- helpers

    private static String resource(String name) {
        try (InputStream in = HtmlReport.class.getResourceAsStream(name)) {
            if (in == null) throw new IllegalStateException("missing resource dev/gguflens/report/" + name + " (broken jar?)");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read resource dev/gguflens/report/" + name, e);
        }
    }

    /** Round-trippable number for data attributes (never exponent-free garbage, never locale commas). */
    private static String num(double v) {
        return Double.toString(v);
    }

    static String fmt(String format, Object... args) {
        return String.format(Locale.ROOT, format, args);
    }
}
