package dev.gguflens.report;

import dev.gguflens.experiment.ProbeReport;
import dev.gguflens.experiment.ProbeReport.LayerEntry;
import dev.gguflens.experiment.ProbeReport.TopToken;

import javax.imageio.ImageIO;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.GraphicsEnvironment;
import java.awt.RenderingHints;
import java.awt.font.FontRenderContext;
import java.awt.font.TextAttribute;
import java.awt.font.TextLayout;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.text.AttributedString;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The layer x position heatmap as a PNG for papers and slides (Java2D, headless): each cell shows the lens's
 * top-1 token, coloured by its probability (same scale as the HTML report), layer 0 ("L0 emb") at the top.
 *
 * <p>Layout rule (pixels), for R rows (layers) and C columns (positions):
 * <pre>
 *   width  = max(MIN_WIDTH, 2*MARGIN + ROW_LABEL_W + C*CELL_W + LEGEND_W)
 *   height = 2*MARGIN + TITLE_H + HEADER_H + max(R*CELL_H, MIN_GRID_H) + AXIS_H
 * </pre>
 * with the constants below (cells 72 x 24 px, token text 12 px). Token text that does not fit a cell ends in
 * '…'; whitespace and controls are made visible as in the HTML report; a character no installed font can draw
 * is written as \\uXXXX instead of a blank box.
 */
public final class HeatmapPng {
    static {
        // Rendering never needs a display; without this, a server with DISPLAY unset could still try to open one.
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
    }

    private HeatmapPng() {}

    public static final int CELL_W = 72, CELL_H = 24, MARGIN = 16, ROW_LABEL_W = 64, TITLE_H = 44, HEADER_H = 36,
            LEGEND_W = 96, AXIS_H = 28, MIN_GRID_H = 120, MIN_WIDTH = 560;
    public static final int CELL_FONT_PX = 12, LABEL_FONT_PX = 12, TITLE_FONT_PX = 16;
    /** Refuse images above this many pixels (about 256 MB as RGB ints) instead of running out of memory. */
    public static final long MAX_PIXELS = 64L << 20;

    private static final Color HIT_FRAME = new Color(0xe6550d), GRID_LINE = Color.WHITE, MUTED = new Color(0x5f6068);

    public static int width(int columns) {
        return Math.max(MIN_WIDTH, 2 * MARGIN + ROW_LABEL_W + columns * CELL_W + LEGEND_W);
    }

    public static int height(int rows) {
        return 2 * MARGIN + TITLE_H + HEADER_H + Math.max(rows * CELL_H, MIN_GRID_H) + AXIS_H;
    }

    /** Renders and writes the PNG; the file appears complete or not at all. */
    public static void write(ProbeReport r, Path png) throws IOException {
        BufferedImage image = render(r);
        OutputSet.writeBinary(png, out -> {
            if (!ImageIO.write(image, "png", out)) throw new IOException(png + ": no PNG writer in this JDK");
        });
    }

    public static BufferedImage render(ProbeReport r) {
        HeatmapGrid grid = HeatmapGrid.of(r);
        int rows = grid.rowCount(), cols = grid.columnCount();
        int width = width(cols), height = height(rows);
        if ((long) width * height > MAX_PIXELS) {
            throw new IllegalArgumentException("heatmap of " + rows + " layers x " + cols + " positions would be " + width + "x"
                    + height + " px, above the " + MAX_PIXELS + " pixel limit: probe a shorter prompt for the PNG");
        }
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_FRACTIONALMETRICS, RenderingHints.VALUE_FRACTIONALMETRICS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, width, height);
            draw(g, r, grid, width);
        } finally {
            g.dispose();
        }
        return image;
    }

    /** Top-left corner of the cell grid, for tests and for anyone annotating the image. */
    public static int gridLeft() {
        return MARGIN + ROW_LABEL_W;
    }

    public static int gridTop() {
        return MARGIN + TITLE_H + HEADER_H;
    }

    private static void draw(Graphics2D g, ProbeReport r, HeatmapGrid grid, int width) {
        Font title = new Font(Font.SANS_SERIF, Font.BOLD, TITLE_FONT_PX);
        Font label = new Font(Font.SANS_SERIF, Font.PLAIN, LABEL_FONT_PX);
        Font small = new Font(Font.SANS_SERIF, Font.PLAIN, LABEL_FONT_PX - 1);
        Font cellFont = new Font(Font.SANS_SERIF, Font.PLAIN, CELL_FONT_PX);
        int rows = grid.rowCount(), cols = grid.columnCount();
        int left = gridLeft(), top = gridTop();
        int textWidth = width - 2 * MARGIN;

        g.setColor(Color.BLACK);
        text(g, "gguf-lens logit lens: " + r.model().name() + " \u2014 top-1 token per layer and position", title,
                MARGIN, MARGIN + TITLE_FONT_PX, textWidth, Color.BLACK);
        text(g, "prompt " + TokenDisplay.quoted(r.prompt()) + "  \u00b7  colour = top-1 probability  \u00b7  lens " + r.lens(),
                label, MARGIN, MARGIN + TITLE_FONT_PX + 20, textWidth, MUTED);

        // column headers: position index above the prompt token
        for (int c = 0; c < cols; c++) {
            HeatmapGrid.Column column = grid.columns().get(c);
            int x = left + c * CELL_W;
            centred(g, String.valueOf(column.pos()), small, x, top - HEADER_H + 13, CELL_W, MUTED);
            centred(g, VisibleText.plain(column.token()), label, x, top - 6, CELL_W, Color.BLACK);
        }
        text(g, "layer", small, MARGIN, top - 6, ROW_LABEL_W, MUTED);

        List<Integer> answerIds = new ArrayList<>();
        var firstExpected = r.layers().getFirst().expected();
        if (firstExpected != null) firstExpected.forEach(e -> answerIds.add(e.id()));
        for (int row = 0; row < rows; row++) {
            int y = top + row * CELL_H;
            String rowLabel = grid.rowLabel(row);
            int labelWidth = advance(g, styled(rowLabel, label));
            text(g, rowLabel, label, left - 6 - labelWidth, y + CELL_H / 2 + LABEL_FONT_PX / 2 - 1, ROW_LABEL_W, Color.BLACK);
            for (int c = 0; c < cols; c++) {
                LayerEntry cell = grid.cell(row, c);
                TopToken top1 = cell.top().getFirst();
                int x = left + c * CELL_W;
                int rgb = HeatColors.probability(top1.p());
                g.setColor(new Color(rgb));
                g.fillRect(x, y, CELL_W, CELL_H);
                g.setColor(GRID_LINE);
                g.drawRect(x, y, CELL_W, CELL_H);
                if (answerIds.contains(top1.id())) {
                    g.setColor(HIT_FRAME);
                    g.setStroke(new BasicStroke(2f));
                    g.drawRect(x + 1, y + 1, CELL_W - 2, CELL_H - 2);
                    g.setStroke(new BasicStroke(1f));
                }
                centred(g, VisibleText.plain(top1.token()), cellFont, x, y + CELL_H / 2 + CELL_FONT_PX / 2 - 1, CELL_W,
                        new Color(HeatColors.textOn(rgb)));
            }
        }
        int gridBottom = top + Math.max(rows * CELL_H, MIN_GRID_H);
        centred(g, "prompt position (token at that position); each cell: the lens's top-1 next token", small,
                left, gridBottom + 18, Math.max(cols * CELL_W, textWidth - ROW_LABEL_W), MUTED);

        // legend: vertical bar, p = 1 at the top
        int barX = left + cols * CELL_W + 18, barW = 16, barTop = top, barH = Math.max(rows * CELL_H, MIN_GRID_H);
        for (int i = 0; i < barH; i++) {
            g.setColor(new Color(HeatColors.probability(1 - i / (double) (barH - 1))));
            g.drawLine(barX, barTop + i, barX + barW - 1, barTop + i);
        }
        g.setColor(Color.GRAY);
        g.drawRect(barX, barTop, barW - 1, barH - 1);
        text(g, "p(top-1)", small, barX - 4, top - 6, LEGEND_W, MUTED);
        for (int i = 0; i <= 4; i++) {
            double p = 1 - i / 4.0;
            int y = barTop + (int) Math.round(i / 4.0 * (barH - 1));
            g.setColor(Color.GRAY);
            g.drawLine(barX + barW, y, barX + barW + 3, y);
            text(g, HtmlReport.fmt("%.2f", p), small, barX + barW + 6, y + 4, LEGEND_W, Color.BLACK);
        }
    }

    /** Draws {@code s} centred in [x, x + boxWidth), shortened with '…' to fit with 3 px padding each side. */
    private static void centred(Graphics2D g, String s, Font font, int x, int baseline, int boxWidth, Color colour) {
        AttributedString fitted = fit(g, s, font, boxWidth - 6);
        int w = advance(g, fitted);
        g.setColor(colour);
        g.drawString(fitted.getIterator(), x + (boxWidth - w) / 2f, baseline);
    }

    private static void text(Graphics2D g, String s, Font font, int x, int baseline, int maxWidth, Color colour) {
        g.setColor(colour);
        g.drawString(fit(g, s, font, maxWidth).getIterator(), x, baseline);
    }

    private static AttributedString fit(Graphics2D g, String s, Font font, int maxWidth) {
        String drawable = drawable(s, font);
        AttributedString full = styled(drawable, font);
        if (drawable.isEmpty() || advance(g, full) <= maxWidth) return full;
        int[] cps = drawable.codePoints().toArray();
        for (int n = cps.length - 1; n >= 0; n--) {
            AttributedString shorter = styled(new String(cps, 0, n) + "\u2026", font);
            if (advance(g, shorter) <= maxWidth) return shorter;
        }
        return styled("\u2026", font);
    }

    private static int advance(Graphics2D g, AttributedString s) {
        var it = s.getIterator();
        if (it.getEndIndex() == it.getBeginIndex()) return 0;
        FontRenderContext frc = g.getFontRenderContext();
        return (int) Math.ceil(new TextLayout(it, frc).getAdvance());
    }

    /** The text with one font attribute per run: the requested font, or for characters it lacks, a fallback that has them. */
    private static AttributedString styled(String s, Font font) {
        AttributedString as = new AttributedString(s);
        if (s.isEmpty()) return as;
        as.addAttribute(TextAttribute.FONT, font);
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            int n = Character.charCount(cp);
            if (!font.canDisplay(cp)) {
                Optional<Font> fallback = fallbackFor(cp, font);
                if (fallback.isPresent()) as.addAttribute(TextAttribute.FONT, fallback.get(), i, i + n);
            }
            i += n;
        }
        return as;
    }

    /**
     * Replaces characters that neither {@code font} nor any installed font can draw with \\uXXXX, so a missing
     * glyph shows up as readable text instead of an empty box.
     */
    static String drawable(String s, Font font) {
        StringBuilder sb = new StringBuilder(s.length());
        s.codePoints().forEach(cp -> {
            if (font.canDisplay(cp) || fallbackFor(cp, font).isPresent()) sb.appendCodePoint(cp);
            else sb.append(cp <= 0xffff ? String.format("\\u%04x", cp) : String.format("\\U%08x", cp));
        });
        return sb.toString();
    }

    private static final Map<Integer, Optional<String>> FALLBACK_FAMILY = new ConcurrentHashMap<>();
    private static volatile Font[] allFonts;

    private static Optional<Font> fallbackFor(int cp, Font font) {
        return FALLBACK_FAMILY.computeIfAbsent(cp, HeatmapPng::findFamily)
                .map(name -> new Font(name, font.getStyle(), font.getSize()));
    }

    private static Optional<String> findFamily(int cp) {
        Font[] fonts = allFonts;
        if (fonts == null) allFonts = fonts = GraphicsEnvironment.getLocalGraphicsEnvironment().getAllFonts();
        for (Font f : fonts) if (f.canDisplay(cp)) return Optional.of(f.getFontName());
        return Optional.empty();
    }
}
