package dev.gguflens.report;

import dev.gguflens.experiment.ProbeReport;
import dev.gguflens.testmodels.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.Font;
import java.awt.GraphicsEnvironment;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The PNG heatmap: documented dimensions, cell colours ordered by probability, text in every cell, safe writing. */
class HeatmapPngTest {

    /** A sampled cell: its probability, background colour (top-left, clear of the frame and text) and text pixel count. */
    record CellSample(int layer, int pos, double p, int background, int textPixels) {}

    private static List<CellSample> sample(BufferedImage image, int rows, int cols) {
        List<CellSample> samples = new ArrayList<>();
        for (int row = 0; row < rows; row++) {
            for (int col = 0; col < cols; col++) {
                int x0 = 16 + 64 + col * 72, y0 = 16 + 44 + 36 + row * 24;
                int background = image.getRGB(x0 + 5, y0 + 4) & 0xffffff;
                int textPixels = 0;
                for (int y = y0 + 5; y < y0 + 21; y++) {
                    for (int x = x0 + 4; x < x0 + 68; x++) {
                        if (distance(image.getRGB(x, y) & 0xffffff, background) > 60) textPixels++;
                    }
                }
                samples.add(new CellSample(row, col, SampleReports.p1(row, col), background, textPixels));
            }
        }
        return samples;
    }

    private static int distance(int a, int b) {
        return Math.abs((a >> 16 & 0xff) - (b >> 16 & 0xff)) + Math.abs((a >> 8 & 0xff) - (b >> 8 & 0xff)) + Math.abs((a & 0xff) - (b & 0xff));
    }

    @Test
    void rendersHeadlessWithTheDocumentedSize() {
        BufferedImage image = HeatmapPng.render(SampleReports.withPositions());
        assertTrue(GraphicsEnvironment.isHeadless());
        // width = max(560, 2*16 + 64 + 12*72 + 96), height = 2*16 + 44 + 36 + max(6*24, 120) + 28
        assertEquals(1056, image.getWidth());
        assertEquals(284, image.getHeight());
        BufferedImage single = HeatmapPng.render(SampleReports.lastPositionOnly());
        assertEquals(560, single.getWidth(), "minimum width for one column");
        assertEquals(284, single.getHeight());
        assertEquals(2 * 16 + 64 + 40 * 72 + 96, HeatmapPng.width(40), "grows 72 px per position");
        assertEquals(2 * 16 + 44 + 36 + 81 * 24 + 28, HeatmapPng.height(81));
        assertEquals(2 * 16 + 44 + 36 + 120 + 28, HeatmapPng.height(2), "room for the legend");
    }

    @Test
    void cellsAreColouredByProbabilityAndCarryText() {
        BufferedImage image = HeatmapPng.render(SampleReports.withPositions());
        List<CellSample> cells = sample(image, SampleReports.ROWS, SampleReports.POSITIONS);
        Set<Integer> colours = new HashSet<>();
        for (CellSample c : cells) {
            colours.add(c.background());
            assertEquals(HeatColors.probability(c.p()), c.background(), "cell " + c.layer() + "," + c.pos() + " background");
            assertTrue(c.textPixels() >= 12, "text in cell " + c.layer() + "," + c.pos() + ": " + c.textPixels() + " pixels");
        }
        assertTrue(colours.size() >= 20, "many distinct cell colours: " + colours.size());
        // higher probability, darker cell: independent of the exact colour map
        List<CellSample> byP = cells.stream().sorted(Comparator.comparingDouble(CellSample::p)).toList();
        for (int i = 1; i < byP.size(); i++) {
            if (byP.get(i).p() - byP.get(i - 1).p() > 0.01) {
                assertTrue(HeatColors.luminance(byP.get(i).background()) < HeatColors.luminance(byP.get(i - 1).background()),
                        "p " + byP.get(i).p() + " darker than p " + byP.get(i - 1).p());
            }
        }
        // title and row labels are drawn (dark pixels left of the grid and above it)
        assertTrue(darkPixels(image, 16, 16, 500, 40) > 200, "title");
        assertTrue(darkPixels(image, 16, 96, 60, 144) > 100, "row labels");
    }

    @Test
    void missingGlyphsBecomeReadableEscapes() {
        Font font = new Font(Font.SANS_SERIF, Font.PLAIN, 12);
        assertEquals("Lily \u2581\u2423\u21b5", HeatmapPng.drawable("Lily \u2581\u2423\u21b5", font), "the marks need glyphs of their own");
        assertEquals("a\\u0378b", HeatmapPng.drawable("a\u0378b", font), "an unassigned code point has no glyph anywhere");
        String cat = HeatmapPng.drawable("\u732b", font);
        boolean anyFontHasIt = Stream.of(GraphicsEnvironment.getLocalGraphicsEnvironment().getAllFonts()).anyMatch(f -> f.canDisplay(0x732b));
        assertEquals(anyFontHasIt || font.canDisplay(0x732b) ? "\u732b" : "\\u732b", cat);
    }

    @Test
    void writesAPngAtomically(@TempDir Path dir) throws IOException {
        Path png = dir.resolve("heatmap.png");
        HeatmapPng.write(SampleReports.withPositions(), png);
        BufferedImage back = ImageIO.read(png.toFile());
        assertNotNull(back);
        assertEquals(1056, back.getWidth());
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of(png), files.toList(), "no temporary file left behind");
        }
        Path nowhere = dir.resolve("missing/heatmap.png");
        IOException e = assertThrows(IOException.class, () -> HeatmapPng.write(SampleReports.withPositions(), nowhere));
        assertTrue(e.getMessage().contains("missing") && e.getMessage().contains("does not exist"), e.getMessage());
        // also kept for people to look at
        Path out = Fixtures.projectDir().resolve("target/html-report");
        Files.createDirectories(out);
        HeatmapPng.write(SampleReports.withPositions(), out.resolve("heatmap-java2d.png"));
    }

    @Test
    void refusesAnImageTooLargeToHold() {
        ProbeReport small = SampleReports.withPositions();
        List<ProbeReport.PositionEntry> many = new ArrayList<>();
        for (int i = 0; i < 5000; i++) many.add(small.positions().get(i % SampleReports.POSITIONS));
        ProbeReport huge = new ProbeReport(small.model(), small.prompt(), small.tokens(), small.lens(), small.layers(), many,
                small.finalPrediction(), small.consistency(), small.milestones(), small.extraPrompts(), small.temperatures(), small.timings());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HeatmapPng.render(huge));
        assertTrue(e.getMessage().startsWith("heatmap of 6 layers x 5000 positions would be 360192x284 px"), e.getMessage());
    }

    private static int darkPixels(BufferedImage image, int x0, int y0, int w, int h) {
        int n = 0;
        for (int y = y0; y < y0 + h; y++) for (int x = x0; x < x0 + w; x++) if (HeatColors.luminance(image.getRGB(x, y) & 0xffffff) < 0.3) n++;
        return n;
    }
}
