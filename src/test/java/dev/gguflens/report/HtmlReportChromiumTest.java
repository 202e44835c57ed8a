package dev.gguflens.report;

import dev.gguflens.experiment.ProbeReport;
import dev.gguflens.testmodels.Fixtures;
import com.google.gson.JsonArray;
import com.google.gson.JsonParser;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The HTML report opened in headless Chromium: the script runs without errors, the DOM after it ran has the
 * full grid, keyboard focus (driven through the URL fragment) opens the top-5 tooltip and the colour toggle
 * works. Screenshots for people land in target/html-report/. Needs /usr/bin/chromium or chromium on PATH
 * (Debian: apt-get install -y -qq chromium); skipped without it, failed without it when CI=true.
 */
class HtmlReportChromiumTest {
    private static Path chromium;
    private static Path outDir;
    private static Path fullReport;

    @BeforeAll
    static void setUp() throws IOException {
        chromium = Fixtures.chromium();
        outDir = Fixtures.projectDir().resolve("target/html-report");
        Files.createDirectories(outDir);
        fullReport = outDir.resolve("report.html");
        Files.writeString(fullReport, HtmlReport.render(SampleReports.withPositions()), StandardCharsets.UTF_8);
    }

    @Test
    void scriptRunsCleanlyAndTheGridIsComplete() throws Exception {
        Run run = chromium("--dump-dom", url(fullReport, ""));
        assertScriptRanCleanly(run);
        List<HtmlReportTest.Cell> cells = HtmlReportTest.cells(run.stdout());
        assertEquals(SampleReports.ROWS * SampleReports.POSITIONS, cells.size(), "(n_layer + 1) x positions cells");
        for (HtmlReportTest.Cell c : cells) {
            assertEquals(SampleReports.top1(c.layer(), c.pos()).shown(), HtmlReportTest.text(c.inner()), "cell " + c.layer() + "," + c.pos());
            JsonArray top = JsonParser.parseString(HtmlReportTest.attribute(c.attributes(), "data-top")).getAsJsonArray();
            assertEquals(5, top.size(), "hover payload of cell " + c.layer() + "," + c.pos());
        }
        HtmlReportTest.Cell last = cells.getLast();
        assertEquals(SampleReports.N_LAYER, last.layer());
        assertEquals(SampleReports.POSITIONS - 1, last.pos());
        assertEquals(SampleReports.ANSWER, HtmlReportTest.text(last.inner()), "the last row's cell at the last position");
        assertTrue(run.stdout().contains("<section id=\"heatmap\" data-colour=\"probability\">"));
        assertTrue(Pattern.compile("<div id=\"tip\" role=\"tooltip\" hidden(=\"\")?>\\s*</div>").matcher(run.stdout()).find(), "tooltip closed at rest");
    }

    @Test
    void focusingACellShowsItsTopFiveAndTheToggleSwitchesToEntropy() throws Exception {
        int layer = 3, pos = 6;
        Run run = chromium("--dump-dom", url(fullReport, "#colour=entropy&cell=" + layer + "," + pos));
        assertScriptRanCleanly(run);
        String dom = run.stdout();
        assertTrue(dom.contains("<section id=\"heatmap\" data-colour=\"entropy\">"), "colour mode switched");
        assertTrue(Pattern.compile("<input type=\"radio\" name=\"colour\" value=\"entropy\"").matcher(dom).find());

        Matcher tip = Pattern.compile("<div id=\"tip\" role=\"tooltip\"([^>]*)>(.*?)</div></div>|<div id=\"tip\" role=\"tooltip\"([^>]*)>(.*?)</div>\\s*</section>",
                Pattern.DOTALL).matcher(dom);
        assertTrue(tip.find(), "tooltip element");
        String tipAttributes = tip.group(1) != null ? tip.group(1) : tip.group(3);
        String tipText = HtmlReportTest.text(tip.group(2) != null ? tip.group(2) : tip.group(4));
        assertFalse(tipAttributes.contains("hidden"), "tooltip open on the focused cell: " + tipAttributes);
        assertTrue(tipText.startsWith("L3 \u00b7 pos 6 " + SampleReports.PROMPT.get(pos).shown()), tipText);
        var expected = SampleReports.withPositions().positions().get(pos).layers().get(layer).top();
        for (int k = 0; k < 5; k++) {
            String line = (k + 1) + "." + VisibleText.plain(expected.get(k).token()) + toFixed4(expected.get(k).p());
            assertTrue(tipText.contains(line), "tooltip row " + line + " in " + tipText);
        }
        assertTrue(tipText.contains("answer \u2581Lily: rank"), tipText);

        // roving tab stop moved to the focused cell
        List<HtmlReportTest.Cell> tabStops = HtmlReportTest.cells(dom).stream()
                .filter(c -> "0".equals(HtmlReportTest.attribute(c.attributes(), "tabindex"))).toList();
        assertEquals(1, tabStops.size());
        assertEquals(List.of(layer, pos), List.of(tabStops.getFirst().layer(), tabStops.getFirst().pos()));
    }

    @Test
    void lastPositionOnlyReportHasOneColumn() throws Exception {
        Path file = outDir.resolve("report-last-position.html");
        Files.writeString(file, HtmlReport.render(SampleReports.lastPositionOnly()), StandardCharsets.UTF_8);
        Run run = chromium("--dump-dom", url(file, "#cell=" + SampleReports.N_LAYER + "," + (SampleReports.POSITIONS - 1)));
        assertScriptRanCleanly(run);
        List<HtmlReportTest.Cell> cells = HtmlReportTest.cells(run.stdout());
        assertEquals(SampleReports.ROWS, cells.size());
        assertEquals(SampleReports.ANSWER, HtmlReportTest.text(cells.getLast().inner()));
    }

    @Test
    void screenshotsForPeople() throws Exception {
        for (String[] shot : new String[][] {{"heatmap-probability.png", ""}, {"heatmap-entropy-hover.png", "#colour=entropy&cell=3,6"}}) {
            Path png = outDir.resolve(shot[0]);
            Files.deleteIfExists(png);
            Run run = chromium("--hide-scrollbars", "--window-size=1400,1000", "--screenshot=" + png.toAbsolutePath(), url(fullReport, shot[1]));
            assertFalse(run.stderr().contains("Uncaught"), run.stderr());
            BufferedImage image = ImageIO.read(png.toFile());
            assertNotNull(image, png + " is a PNG");
            assertEquals(1400, image.getWidth());
            assertEquals(1000, image.getHeight());
            Set<Integer> colours = new HashSet<>();
            for (int y = 0; y < image.getHeight(); y += 7) for (int x = 0; x < image.getWidth(); x += 7) colours.add(image.getRGB(x, y));
            assertTrue(colours.size() > 30, "a rendered page, not a blank one: " + colours.size() + " colours");
        }
    }

    /** The report of a real run: stories260K through llama.cpp and the lens, every position. */
    @Test
    void realStories260KReport() throws Exception {
        Fixtures.requireNative();
        ProbeReport report;
        var settings = new dev.gguflens.experiment.ProbeSettings(dev.gguflens.lens.LensKind.NORM, 5, true, 0, 2, 256, List.of());
        try (var session = dev.gguflens.experiment.ModelSession.open(Fixtures.stories260K(), settings, null)) {
            report = dev.gguflens.experiment.Probe.report(session,
                    new dev.gguflens.experiment.PromptSpec("Once upon a time, there was a little girl named", "Lily"), List.of(), false);
        }
        Path file = outDir.resolve("stories260K.html");
        Files.writeString(file, HtmlReport.render(report), StandardCharsets.UTF_8);
        int rows = report.layers().size(), positions = report.tokens().size();
        Run run = chromium("--dump-dom", url(file, "#cell=" + (rows - 1) + "," + (positions - 1)));
        assertScriptRanCleanly(run);
        List<HtmlReportTest.Cell> cells = HtmlReportTest.cells(run.stdout());
        assertEquals(6 * 14, cells.size(), "(n_layer + 1) x positions cells");
        assertEquals(rows * positions, cells.size());
        HtmlReportTest.Cell last = cells.getLast();
        assertEquals(List.of(5, 13), List.of(last.layer(), last.pos()));
        assertEquals(VisibleText.plain(" Lily"), HtmlReportTest.text(last.inner()), "the last row's cell at the last position");
        assertEquals("\u2423Lily", HtmlReportTest.text(last.inner()), "a leading space shown as a visible mark");
        JsonArray top = JsonParser.parseString(HtmlReportTest.attribute(last.attributes(), "data-top")).getAsJsonArray();
        assertEquals(5, top.size());
        assertEquals(" Lily", top.get(0).getAsJsonObject().get("token").getAsString());
        Path png = outDir.resolve("stories260K-screenshot.png");
        Files.deleteIfExists(png);
        Run shot = chromium("--hide-scrollbars", "--window-size=1400,900", "--screenshot=" + png.toAbsolutePath(),
                url(file, "#cell=" + (rows - 1) + "," + (positions - 1)));
        assertFalse(shot.stderr().contains("Uncaught"), shot.stderr());
        assertNotNull(ImageIO.read(png.toFile()), "screenshot saved at " + png);
    }

    /** JavaScript's Number.toFixed(4): rounds the exact binary value (ties up), unlike String.format on its decimal form. */
    private static String toFixed4(double v) {
        return new java.math.BigDecimal(v).setScale(4, java.math.RoundingMode.HALF_UP).toPlainString();
    }

    private static void assertScriptRanCleanly(Run run) {
        assertFalse(run.stderr().contains("Uncaught"), "console error: " + run.stderr());
        assertTrue(run.stdout().contains("data-ready=\"1\""), "report.js ran to the end");
        Matcher errors = Pattern.compile("<pre id=\"js-errors\"([^>]*)>(.*?)</pre>", Pattern.DOTALL).matcher(run.stdout());
        assertTrue(errors.find());
        assertEquals("", errors.group(2), "errors caught by report.js");
    }

    record Run(String stdout, String stderr) {}

    /** Runs headless Chromium with {@code args} (also used by the trace heatmap's test). */
    static Run chromium(String... args) throws IOException, InterruptedException {
        if (chromium == null) chromium = Fixtures.chromium();
        Path profile = Files.createTempDirectory("gguflens-chromium-");
        Path stdout = Files.createTempFile("gguflens-chromium-", ".out"), stderr = Files.createTempFile("gguflens-chromium-", ".err");
        try {
            List<String> command = new ArrayList<>(List.of(chromium.toString(), "--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--user-data-dir=" + profile, "--enable-logging=stderr", "--v=0", "--virtual-time-budget=2000"));
            command.addAll(List.of(args));
            Process p = new ProcessBuilder(command).redirectOutput(stdout.toFile()).redirectError(stderr.toFile()).start();
            // a guard against a hung browser, not a performance assertion
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor();
                fail("chromium did not finish within 120 s: " + command);
            }
            String out = Files.readString(stdout, StandardCharsets.UTF_8), err = Files.readString(stderr, StandardCharsets.UTF_8);
            assertEquals(0, p.exitValue(), () -> "chromium exit code; stderr:\n" + err);
            return new Run(out, err);
        } finally {
            Files.deleteIfExists(stdout);
            Files.deleteIfExists(stderr);
            try (Stream<Path> walk = Files.walk(profile)) {
                walk.sorted(Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
            }
        }
    }

    private static String url(Path file, String fragment) {
        return file.toAbsolutePath().toUri() + fragment;
    }
}
