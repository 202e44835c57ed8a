package dev.gguflens.report;

import dev.gguflens.experiment.ProbeReport;
import dev.gguflens.experiment.TraceReport;
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
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The causal-tracing heatmap opened in headless Chromium: the script runs cleanly, the grid has a cell per layer
 * and position coloured by restoration, and focusing a cell through the URL fragment shows its detail.
 * Screenshots land in target/html-report/. Needs chromium (skipped without it, failed without it when CI=true).
 */
class TraceHtmlChromiumTest {
    private static final List<String> TOKENS = List.of("<s>", " Once", " upon", " a", " b", "o", "y", " named");
    private static final int LAYERS = 4;
    private static Path page;

    /** p rises towards the last position and with depth; p_clean 0.9, p_corrupt 0.1. */
    static TraceReport sample() {
        List<TraceReport.Row> rows = new ArrayList<>();
        for (int layer = 0; layer < LAYERS; layer++) {
            final int l = layer;
            rows.add(new TraceReport.Row(layer, IntStream.range(0, TOKENS.size())
                    .mapToDouble(pos -> 0.1 + 0.8 * (pos == TOKENS.size() - 1 ? (l + 1.0) / LAYERS : pos == 5 ? 0.5 : 0.0)).toArray()));
        }
        var model = new ProbeReport.ModelInfo("sample<&>", "sample.gguf", "llama", LAYERS - 1, 64, 512, 8, 8, 512, "F32", "F32", 1000, 4000);
        List<ProbeReport.TokenInfo> tokens = IntStream.range(0, TOKENS.size())
                .mapToObj(i -> new ProbeReport.TokenInfo(i, TOKENS.get(i))).toList();
        return new TraceReport(model, "resid", "Once upon a girl named", "Once upon a boy named", tokens, tokens, "Lily", 317,
                " Lily", 0.9, 0.1, "position", TOKENS, rows, null);
    }

    @BeforeAll
    static void setUp() throws IOException {
        Fixtures.chromium();   // skips (fails under CI=true) without it
        Path dir = Fixtures.projectDir().resolve("target/html-report");
        Files.createDirectories(dir);
        page = dir.resolve("trace.html");
        Files.writeString(page, TraceHtml.render(sample()), StandardCharsets.UTF_8);
    }

    @Test
    void gridIsCompleteAndAFocusedCellShowsItsDetail() throws Exception {
        var run = chromium("--dump-dom", page.toAbsolutePath().toUri() + "#cell=3,7");
        assertFalse(run.stderr().contains("Uncaught"), run.stderr());
        String dom = run.stdout();
        assertTrue(dom.contains("data-ready=\"1\""), "the script ran to the end");
        Matcher cells = Pattern.compile("<td class=\"cell\"[^>]*data-layer=\"(\\d+)\" data-col=\"(\\d+)\"[^>]*style=\"background:(#[0-9a-f]{6})[^>]*>([^<]*)</td>").matcher(dom);
        int count = 0;
        Set<String> colours = new HashSet<>();
        while (cells.find()) {
            count++;
            colours.add(cells.group(3));
            if (cells.group(1).equals("3") && cells.group(2).equals("7")) assertEquals("1.00", cells.group(4));
            if (cells.group(2).equals("0")) assertEquals("0.00", cells.group(4));
        }
        assertEquals(LAYERS * TOKENS.size(), count, "a cell per layer and position");
        assertTrue(colours.size() >= 4, "restoration colours the cells: " + colours);
        Matcher detail = Pattern.compile("<div id=\"detail\"[^>]*>(.*?)</div>", Pattern.DOTALL).matcher(dom);
        assertTrue(detail.find());
        assertEquals("layer 3 \u00b7 position 7 \u2423named: p 0.9000, restoration 1.00", detail.group(1));
        assertTrue(dom.contains("sample&lt;&amp;&gt;"), "model name escaped");
    }

    @Test
    void screenshotForPeople() throws Exception {
        Path png = page.resolveSibling("trace.png");
        Files.deleteIfExists(png);
        var run = chromium("--hide-scrollbars", "--window-size=900,600", "--screenshot=" + png.toAbsolutePath(),
                page.toAbsolutePath().toUri() + "#cell=2,5");
        assertFalse(run.stderr().contains("Uncaught"), run.stderr());
        BufferedImage image = ImageIO.read(png.toFile());
        assertNotNull(image, png + " is a PNG");
        Set<Integer> colours = new HashSet<>();
        for (int y = 0; y < image.getHeight(); y += 5) for (int x = 0; x < image.getWidth(); x += 5) colours.add(image.getRGB(x, y));
        assertTrue(colours.size() > 10, "a rendered page, not a blank one: " + colours.size() + " colours");
    }

    private static HtmlReportChromiumTest.Run chromium(String... args) throws IOException, InterruptedException {
        return HtmlReportChromiumTest.chromium(args);
    }
}
