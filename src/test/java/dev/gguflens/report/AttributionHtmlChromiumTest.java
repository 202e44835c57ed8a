package dev.gguflens.report;

import dev.gguflens.experiment.AttributionReport;
import dev.gguflens.experiment.ProbeReport;
import dev.gguflens.testmodels.Fixtures;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The attribution page in headless Chromium: its script runs cleanly, the DOM has a bar per block part and a cell
 * per block and head carrying the report's values, and focusing a head through the URL fragment writes its part
 * into the detail line. Screenshots land in target/html-report/. Needs chromium (skipped without it, failed
 * under CI=true), like {@link HtmlReportChromiumTest}.
 */
class AttributionHtmlChromiumTest {
    private static Path chromium;
    private static Path outDir;

    @BeforeAll
    static void setUp() throws IOException {
        chromium = Fixtures.chromium();
        outDir = Fixtures.projectDir().resolve("target/html-report");
        Files.createDirectories(outDir);
    }

    /** A made-up report: 3 blocks of 4 heads, one value per part, "<b>" in the prompt to test escaping. */
    static AttributionReport sample() {
        List<AttributionReport.Block> blocks = new ArrayList<>();
        double sum = 0.5;
        for (int b = 0; b < 3; b++) {
            List<Double> heads = new ArrayList<>();
            double attention = 0;
            for (int h = 0; h < 4; h++) {
                double v = (h - 1.5) * (b + 1) * 0.25;
                heads.add(v);
                attention += v;
            }
            double mlp = 1.0 - b;
            blocks.add(new AttributionReport.Block(b, attention, mlp, heads, 0, 0));
            sum += attention + mlp;
        }
        ProbeReport.ModelInfo model = new ProbeReport.ModelInfo("tiny", "tiny.gguf", "llama", 3, 8, 10, 4, 4, 64, "F32",
                "F32", 1000, 4000);
        return new AttributionReport(model, null, "a <b> prompt", List.of(new ProbeReport.TokenInfo(1, "a")), 0, "a", "Lily", 7,
                " Lily", sum, "first", List.of(new ProbeReport.TokenInfo(7, " Lily")), false, null, null, "the logit of ' Lily'", sum, 0.5, blocks, 0, sum,
                new AttributionReport.Identity(sum, 0, 0, true), 0.5, 4, List.of("a note"));
    }

    @Test
    void scriptRunsAndEveryPartIsOnThePage() throws Exception {
        AttributionReport r = sample();
        Path file = outDir.resolve("attribution-sample.html");
        Files.writeString(file, AttributionHtml.render(r), StandardCharsets.UTF_8);
        HtmlReportChromiumTest.Run run = chromium("--dump-dom", file.toAbsolutePath().toUri() + "#head=2,3");
        assertScriptRanCleanly(run);
        String dom = run.stdout();
        assertTrue(dom.contains("a &lt;b&gt; prompt"), "prompt escaped");
        List<String[]> heads = cells(dom, "td", "head");
        assertEquals(3 * 4, heads.size());
        for (String[] cell : heads) {
            int b = Integer.parseInt(cell[0]), h = Integer.parseInt(cell[1]);
            assertEquals(r.blocks().get(b).heads().get(h), Double.parseDouble(cell[2]), 1e-8, "head " + b + "," + h);
        }
        List<String[]> bars = cells(dom, "rect", "bar");
        assertEquals(1 + 2 * 3, bars.size(), "embedding + attention and MLP per block");
        Matcher detail = Pattern.compile("<p id=\"detail\"[^>]*>(.*?)</p>", Pattern.DOTALL).matcher(dom);
        assertTrue(detail.find());
        double v = r.blocks().get(2).heads().get(3);
        assertEquals(String.format(java.util.Locale.ROOT, "block 2 head 3: +%.6f (%.1f%% of the sum of parts)", v,
                100 * v / r.sumOfParts()), detail.group(1).strip());
        assertTrue(Pattern.compile("<td class=\"head current\" tabindex=\"0\" data-block=\"2\" data-head=\"3\"").matcher(dom).find(),
                "the focused cell is the tab stop");
    }

    /** The page of a real run: stories260K's Lily, attributed through llama.cpp. */
    @Test
    void realStories260KPage() throws Exception {
        dev.gguflens.testmodels.Fixtures.requireNative();
        AttributionReport r;
        var settings = new dev.gguflens.experiment.ProbeSettings(dev.gguflens.lens.LensKind.NORM, 5, false, 0, 2, 256, List.of());
        try (var session = dev.gguflens.experiment.ModelSession.open(dev.gguflens.testmodels.Fixtures.stories260K(), settings, null)) {
            r = new dev.gguflens.experiment.Attribute(session).run("Once upon a time, there was a little girl named", "Lily",
                    null, null);
        }
        Path file = outDir.resolve("attribution-stories260K.html");
        Files.writeString(file, AttributionHtml.render(r), StandardCharsets.UTF_8);
        HtmlReportChromiumTest.Run run = chromium("--dump-dom", file.toAbsolutePath().toUri() + "#head=4,0");
        assertScriptRanCleanly(run);
        assertEquals(5 * 8, cells(run.stdout(), "td", "head").size());
        assertTrue(run.stdout().contains("<p id=\"identity\" class=\"ok\">Identity: sum of parts 18.05"), "identity line");
        Path png = outDir.resolve("attribution-stories260K.png");
        Files.deleteIfExists(png);
        HtmlReportChromiumTest.Run shot = chromium("--hide-scrollbars", "--window-size=1200,900", "--screenshot=" + png.toAbsolutePath(),
                file.toAbsolutePath().toUri() + "#head=4,0");
        assertFalse(shot.stderr().contains("Uncaught"), shot.stderr());
        BufferedImage image = ImageIO.read(png.toFile());
        assertNotNull(image, png + " is a PNG");
        Set<Integer> colours = new HashSet<>();
        for (int y = 0; y < image.getHeight(); y += 5) for (int x = 0; x < image.getWidth(); x += 5) colours.add(image.getRGB(x, y));
        assertTrue(colours.size() > 20, "a rendered page, not a blank one: " + colours.size() + " colours");
    }

    /** [data-block, data-head or data-part, data-value] of every {@code <tag class="cls ...">}. */
    private static List<String[]> cells(String dom, String tag, String cls) {
        Matcher m = Pattern.compile("<" + tag + " class=\"" + cls + "[^\"]*\"([^>]*)>").matcher(dom);
        List<String[]> out = new ArrayList<>();
        while (m.find()) {
            String attrs = m.group(1);
            out.add(new String[] {attr(attrs, "data-block"), attr(attrs, tag.equals("td") ? "data-head" : "data-part"),
                    attr(attrs, "data-value")});
        }
        return out;
    }

    private static String attr(String attrs, String name) {
        Matcher m = Pattern.compile(name + "=\"([^\"]*)\"").matcher(attrs);
        assertTrue(m.find(), name + " in " + attrs);
        return m.group(1);
    }

    private static void assertScriptRanCleanly(HtmlReportChromiumTest.Run run) {
        assertFalse(run.stderr().contains("Uncaught"), "console error: " + run.stderr());
        assertTrue(run.stdout().contains("data-ready=\"1\""), "the page's script ran to the end");
        Matcher errors = Pattern.compile("<pre id=\"js-errors\"([^>]*)>(.*?)</pre>", Pattern.DOTALL).matcher(run.stdout());
        assertTrue(errors.find());
        assertEquals("", errors.group(2), "errors caught by the script");
    }

    /** The one headless-Chromium runner of the report tests. */
    private static HtmlReportChromiumTest.Run chromium(String... args) throws IOException, InterruptedException {
        return HtmlReportChromiumTest.chromium(args);
    }
}
