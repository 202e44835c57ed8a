package dev.gguflens.report;

import dev.gguflens.experiment.ProbeReport;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The HTML as a string: escaping, visible whitespace, cell grid and hover payload, self-containment. */
class HtmlReportTest {

    /** A heatmap cell as written: attributes (values still HTML-escaped) and inner HTML. */
    record Cell(int layer, int pos, String attributes, String inner) {}

    private static final Pattern CELL = Pattern.compile("<td class=\"cell[^\"]*\" data-layer=\"(\\d+)\" data-pos=\"(\\d+)\"((?:\\s+[\\w-]+=\"[^\"]*\")*)\\s*>(.*?)</td>");

    static List<Cell> cells(String html) {
        List<Cell> cells = new ArrayList<>();
        Matcher m = CELL.matcher(html);
        while (m.find()) cells.add(new Cell(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)), m.group(3), m.group(4)));
        return cells;
    }

    static String attribute(String attributes, String name) {
        Matcher m = Pattern.compile("\\s" + Pattern.quote(name) + "=\"([^\"]*)\"").matcher(attributes);
        return m.find() ? unescape(m.group(1)) : null;
    }

    /** Text content of an HTML fragment: tags dropped, the entities this report and Chromium produce decoded. */
    static String text(String fragment) {
        return unescape(fragment.replaceAll("<[^>]*>", ""));
    }

    static String unescape(String s) {
        return s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&#39;", "'")
                .replace("&nbsp;", "\u00a0").replace("&amp;", "&");
    }

    @Test
    void escapesAllFiveSpecialCharacters() {
        assertEquals("a&amp;b&lt;c&gt;d&quot;e&#39;f", Html.escape("a&b<c>d\"e'f"));
        assertEquals("plain ▁text 猫", Html.escape("plain ▁text 猫"));
    }

    @Test
    void makesWhitespaceAndControlsVisible() {
        for (SampleReports.Tricky t : SampleReports.PROMPT) assertEquals(t.shown(), VisibleText.plain(t.raw()), t.raw());
        assertEquals("\u2205", VisibleText.plain(""));
        assertEquals("a b", VisibleText.plain("a b"), "an inner space is already visible");
        assertEquals("\\x0d\\x7f\\x9f\\u200b", VisibleText.plain("\r\u007f\u009f\u200b"));
        assertEquals("<span class=\"ws\">\u2423</span>a&lt;b", VisibleText.html(" a<b"));
    }

    @Test
    void gridHasOneCellPerLayerAndPositionWithTheRightTop1() {
        String html = HtmlReport.render(SampleReports.withPositions());
        List<Cell> cells = cells(html);
        assertEquals(SampleReports.ROWS * SampleReports.POSITIONS, cells.size());
        for (int i = 0; i < cells.size(); i++) {
            Cell c = cells.get(i);
            // row-major, layer 0 first
            assertEquals(i / SampleReports.POSITIONS, c.layer());
            assertEquals(i % SampleReports.POSITIONS, c.pos());
            assertEquals(SampleReports.top1(c.layer(), c.pos()).shown(), text(c.inner()), "cell " + c.layer() + "," + c.pos());
            assertEquals(SampleReports.p1(c.layer(), c.pos()), Double.parseDouble(attribute(c.attributes(), "data-p")));
        }
        Cell last = cells.getLast();
        assertEquals(SampleReports.ANSWER, text(last.inner()));
        assertTrue(html.contains("<th scope=\"row\">L0 emb</th>") && html.contains("<th scope=\"row\">L5</th>"));
        assertTrue(html.indexOf(">L0 emb</th>") < html.indexOf(">L5</th>"), "embeddings row first");
    }

    @Test
    void hoverPayloadIsTheTopFiveAsJson() {
        ProbeReport r = SampleReports.withPositions();
        for (Cell c : cells(HtmlReport.render(r))) {
            JsonArray top = JsonParser.parseString(attribute(c.attributes(), "data-top")).getAsJsonArray();
            var expected = r.positions().get(c.pos()).layers().get(c.layer()).top();
            assertEquals(5, top.size());
            for (int k = 0; k < 5; k++) {
                JsonObject t = top.get(k).getAsJsonObject();
                assertEquals(expected.get(k).token(), t.get("token").getAsString());
                assertEquals(expected.get(k).id(), t.get("id").getAsInt());
                assertEquals(expected.get(k).p(), t.get("p").getAsDouble());
            }
            JsonObject answer = JsonParser.parseString(attribute(c.attributes(), "data-expected")).getAsJsonArray().get(0).getAsJsonObject();
            assertEquals(SampleReports.ANSWER_ID, answer.get("id").getAsInt());
        }
    }

    @Test
    void rawTokenMarkupNeverReachesTheDocument() {
        String html = HtmlReport.render(SampleReports.withPositions());
        assertFalse(html.contains("<img"), "a token's markup must be escaped");
        assertFalse(html.contains("<test>"), "the model name is escaped too");
        assertTrue(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
        assertFalse(html.contains("\u0001"), "control characters are spelled out");
    }

    @Test
    void isSelfContained() {
        String html = HtmlReport.render(SampleReports.withPositions());
        // no tag may load anything: walk the real tags (quoted attribute values skipped, so token text cannot fool it)
        Matcher tag = Pattern.compile("<([a-zA-Z][\\w-]*)((?:\\s+[\\w:-]+(?:=\"[^\"]*\")?)*)\\s*/?>").matcher(html);
        int tags = 0;
        while (tag.find()) {
            tags++;
            assertFalse(List.of("link", "img", "iframe", "object", "embed").contains(tag.group(1).toLowerCase()), tag.group());
            Matcher attr = Pattern.compile("\\s([\\w:-]+)(?:=\"[^\"]*\")?").matcher(tag.group(2));
            while (attr.find()) assertFalse(List.of("src", "href").contains(attr.group(1).toLowerCase()), tag.group());
        }
        assertTrue(tags > SampleReports.ROWS * SampleReports.POSITIONS);
        Matcher css = Pattern.compile("(?i)@import|url\\(|https?://(?!www\\.w3\\.org/2000/svg)").matcher(html);
        assertFalse(css.find(), () -> "external reference: " + css.group());
        assertTrue(html.contains("<style>") && html.contains("<script>") && html.contains("<svg class=\"chart\" id=\"rank-chart\""));
        assertEquals(1, count(html, "<script>"), "one inline script, no src");
    }

    @Test
    void rankChartUsesALogAxisAndPlotsEveryLayer() {
        String html = HtmlReport.render(SampleReports.withPositions());
        String chart = html.substring(html.indexOf("<svg class=\"chart\" id=\"rank-chart\""), html.indexOf("</svg>", html.indexOf("id=\"rank-chart\"")));
        // ranks at the last position go up to 400/1 + 11 = 411 -> decades 1, 10, 100, 1000
        for (String tick : List.of(">1<", ">10<", ">100<", ">1,000<")) assertTrue(chart.contains(tick), tick);
        assertEquals(SampleReports.ROWS, count(chart, "<circle"));
        // rank 1 lies on the top gridline (y = 30), rank 1000 on the bottom one (y = 220)
        assertTrue(chart.contains("cy=\"30.0\" r=\"3\" fill=\"#225ea8\" data-layer=\"5\""), chart);
    }

    @Test
    void withoutPositionsShowsOnlyTheLastPosition() {
        String html = HtmlReport.render(SampleReports.lastPositionOnly());
        List<Cell> cells = cells(html);
        assertEquals(SampleReports.ROWS, cells.size());
        for (Cell c : cells) assertEquals(SampleReports.POSITIONS - 1, c.pos());
        assertEquals(SampleReports.ANSWER, text(cells.getLast().inner()));
        assertTrue(html.contains("Only the last position"));
    }

    @Test
    void sectionsArePresent() {
        String html = HtmlReport.render(SampleReports.withPositions());
        for (String id : List.of("heatmap", "curves", "final", "consistency", "milestones", "extra-prompts", "temperatures", "model")) {
            assertTrue(html.contains("<section id=\"" + id + "\""), id);
        }
        assertTrue(html.contains("<tr><th>first layer with the answer at rank 1</th><td>L4 (80% of depth)</td></tr>"));
        assertTrue(html.contains("260,000"));
    }

    @Test
    void raggedGridIsRejectedWithAClearMessage() {
        ProbeReport good = SampleReports.withPositions();
        List<ProbeReport.PositionEntry> positions = new ArrayList<>(good.positions());
        var p3 = positions.get(3);
        positions.set(3, new ProbeReport.PositionEntry(3, p3.id(), p3.token(), p3.layers().subList(0, 4)));
        ProbeReport bad = new ProbeReport(good.model(), good.prompt(), good.tokens(), good.lens(), good.layers(), positions,
                good.finalPrediction(), good.consistency(), good.milestones(), good.extraPrompts(), good.temperatures(), good.timings());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HtmlReport.render(bad));
        assertTrue(e.getMessage().startsWith("position 3 has layers [0, 1, 2, 3]"), e.getMessage());
    }

    static int count(String haystack, String needle) {
        int n = 0;
        for (int i = haystack.indexOf(needle); i >= 0; i = haystack.indexOf(needle, i + 1)) n++;
        return n;
    }
}
