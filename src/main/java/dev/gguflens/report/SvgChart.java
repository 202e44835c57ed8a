package dev.gguflens.report;

import java.util.List;

/** Small inline-SVG line charts over layers (x = layer); non-finite values leave a gap. */
final class SvgChart {
    private SvgChart() {}

    record Series(String name, String colour, double[] values) {}

    /** A y axis: maps a value to [0, 1] of the plot height (0 = bottom) and lists its ticks. */
    sealed interface Axis {
        double fraction(double v);

        double[] ticks();

        String label(double tick);

        static Axis linear(double min, double max, String format) {
            return new Linear(min, max <= min ? min + 1 : max, format);
        }

        /** Ranks on a log10 axis with rank 1 at the top, down to the next power of ten at or above {@code maxRank}. */
        static Axis logRank(double maxRank) {
            int decades = Math.max(1, (int) Math.ceil(Math.log10(Math.max(maxRank, 1)) - 1e-9));
            return new LogRank(decades);
        }
    }

    record Linear(double min, double max, String format) implements Axis {
        public double fraction(double v) {
            return (v - min) / (max - min);
        }

        public double[] ticks() {
            double[] t = new double[5];
            for (int i = 0; i < 5; i++) t[i] = min + (max - min) * i / 4;
            return t;
        }

        public String label(double tick) {
            return HtmlReport.fmt(format, tick);
        }
    }

    record LogRank(int decades) implements Axis {
        public double fraction(double rank) {
            return 1 - Math.log10(Math.max(rank, 1)) / decades;
        }

        public double[] ticks() {
            double[] t = new double[decades + 1];
            for (int i = 0; i <= decades; i++) t[i] = Math.pow(10, i);
            return t;
        }

        public String label(double tick) {
            return HtmlReport.fmt("%,d", (long) tick);
        }
    }

    /** 1, 2 or 5 times a power of ten at or above {@code v}; 1 for non-positive input. */
    static double niceCeiling(double v) {
        if (!(v > 0) || !Double.isFinite(v)) return 1;
        double base = Math.pow(10, Math.floor(Math.log10(v)));
        for (double step : new double[] {1, 2, 5, 10}) if (step * base >= v * (1 - 1e-12)) return step * base;
        return 10 * base;
    }

    private static final int WIDTH = 520, HEIGHT = 260, LEFT = 58, RIGHT = 14, TOP = 30, BOTTOM = 40;

    static String line(String id, String title, String yTitle, List<Integer> layers, List<Series> series, Axis axis) {
        int plotW = WIDTH - LEFT - RIGHT, plotH = HEIGHT - TOP - BOTTOM;
        int minLayer = layers.getFirst(), maxLayer = layers.getLast();
        double span = Math.max(1, maxLayer - minLayer);
        StringBuilder s = new StringBuilder(4096);
        s.append("<svg class=\"chart\" id=\"").append(id).append("\" role=\"img\" aria-label=\"").append(Html.escape(title))
                .append("\" width=\"").append(WIDTH).append("\" height=\"").append(HEIGHT).append("\" viewBox=\"0 0 ")
                .append(WIDTH).append(' ').append(HEIGHT).append("\" xmlns=\"http://www.w3.org/2000/svg\">\n");
        s.append("<text class=\"title\" x=\"").append(LEFT).append("\" y=\"18\">").append(Html.escape(title)).append("</text>\n");
        for (double tick : axis.ticks()) {
            double y = TOP + plotH * (1 - axis.fraction(tick));
            s.append("<line class=\"grid\" x1=\"").append(LEFT).append("\" x2=\"").append(LEFT + plotW).append("\" y1=\"").append(r(y))
                    .append("\" y2=\"").append(r(y)).append("\"/><text x=\"").append(LEFT - 6).append("\" y=\"").append(r(y + 4))
                    .append("\" text-anchor=\"end\">").append(Html.escape(axis.label(tick))).append("</text>\n");
        }
        int step = Math.max(1, (int) Math.ceil(layers.size() / 16.0));
        for (int i = 0; i < layers.size(); i += step) {
            double x = LEFT + plotW * (layers.get(i) - minLayer) / span;
            s.append("<text x=\"").append(r(x)).append("\" y=\"").append(TOP + plotH + 15).append("\" text-anchor=\"middle\">")
                    .append(layers.get(i)).append("</text>");
        }
        s.append('\n');
        s.append("<line class=\"axis\" x1=\"").append(LEFT).append("\" x2=\"").append(LEFT).append("\" y1=\"").append(TOP)
                .append("\" y2=\"").append(TOP + plotH).append("\"/><line class=\"axis\" x1=\"").append(LEFT).append("\" x2=\"")
                .append(LEFT + plotW).append("\" y1=\"").append(TOP + plotH).append("\" y2=\"").append(TOP + plotH).append("\"/>\n");
        s.append("<text x=\"").append(LEFT + plotW / 2).append("\" y=\"").append(HEIGHT - 6).append("\" text-anchor=\"middle\">layer (0 = embeddings)</text>\n");
        s.append("<text transform=\"translate(14 ").append(TOP + plotH / 2).append(") rotate(-90)\" text-anchor=\"middle\">")
                .append(Html.escape(yTitle)).append("</text>\n");
        for (int k = 0; k < series.size(); k++) {
            Series ser = series.get(k);
            StringBuilder path = new StringBuilder();
            StringBuilder dots = new StringBuilder();
            boolean pen = false;
            for (int i = 0; i < layers.size() && i < ser.values().length; i++) {
                double v = ser.values()[i];
                if (!Double.isFinite(v)) {
                    pen = false;
                    continue;
                }
                double x = LEFT + plotW * (layers.get(i) - minLayer) / span;
                double y = TOP + plotH * (1 - Math.clamp(axis.fraction(v), 0.0, 1.0));
                path.append(pen ? " L" : " M").append(r(x)).append(' ').append(r(y));
                pen = true;
                dots.append("<circle cx=\"").append(r(x)).append("\" cy=\"").append(r(y)).append("\" r=\"3\" fill=\"").append(ser.colour())
                        .append("\" data-layer=\"").append(layers.get(i)).append("\" data-value=\"").append(v).append("\"><title>")
                        .append(Html.escape(HeatmapGrid.layerLabel(layers.get(i)) + " " + ser.name() + ": " + axisValue(axis, v)))
                        .append("</title></circle>");
            }
            s.append("<g class=\"series\" data-series=\"").append(Html.escape(ser.name())).append("\"><path d=\"").append(path.toString().strip())
                    .append("\" fill=\"none\" stroke=\"").append(ser.colour()).append("\" stroke-width=\"2\"/>").append(dots).append("</g>\n");
            s.append("<text x=\"").append(WIDTH - RIGHT).append("\" y=\"").append(18 + 13 * k).append("\" text-anchor=\"end\" fill=\"")
                    .append(ser.colour()).append("\">").append(Html.escape(ser.name())).append("</text>\n");
        }
        return s.append("</svg>\n").toString();
    }

    private static String axisValue(Axis axis, double v) {
        return axis instanceof LogRank ? "rank " + (long) v : HtmlReport.fmt("%.4g", v);
    }

    private static String r(double v) {
        return HtmlReport.fmt("%.1f", v);
    }
}
