package dev.gguflens.report;

import dev.gguflens.experiment.CompareReport;
import dev.gguflens.experiment.CompareReport.VariantSummary;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

/**
 * {@code compare.svg}: a standalone SVG with two charts over layers, one curve per variant: the mean
 * KL(variant || reference) over the prompts, and the median rank of the expected answer (log scale).
 */
public final class ComparePlot {
    private static final String[] COLOURS = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
        "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
    private static final int CHART_HEIGHT = 260;

    private ComparePlot() {}

    public static String render(CompareReport report) {
        List<SvgChart.Series> kl = new ArrayList<>();
        List<SvgChart.Series> rank = new ArrayList<>();
        double maxKl = 0;
        double maxRank = 1;
        int layers = 0;
        for (int i = 0; i < report.summary().size(); i++) {
            VariantSummary s = report.summary().get(i);
            String colour = COLOURS[i % COLOURS.length];
            String name = s.variant() + (s.variant().equals(report.reference()) ? " (reference)" : "");
            kl.add(new SvgChart.Series(name, colour, s.meanKlBits()));
            double[] ranks = new double[s.medianExpectedRank().length];
            for (int l = 0; l < ranks.length; l++) {
                Double r = s.medianExpectedRank()[l];
                ranks[l] = r == null ? Double.NaN : r;
                if (r != null) maxRank = Math.max(maxRank, r);
            }
            rank.add(new SvgChart.Series(name, colour, ranks));
            for (double v : s.meanKlBits()) if (Double.isFinite(v)) maxKl = Math.max(maxKl, v);
            layers = Math.max(layers, s.meanKlBits().length);
        }
        List<Integer> layerList = IntStream.range(0, layers).boxed().toList();
        String klChart = SvgChart.line("kl", "Mean KL(variant || reference) per layer", "bits", layerList, kl,
                SvgChart.Axis.linear(0, SvgChart.niceCeiling(maxKl), "%.3g"));
        String rankChart = SvgChart.line("rank", "Median rank of the expected answer per layer", "rank", layerList, rank,
                SvgChart.Axis.logRank(maxRank));
        StringBuilder svg = new StringBuilder();
        svg.append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
                .append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"520\" height=\"").append(2 * CHART_HEIGHT)
                .append("\" viewBox=\"0 0 520 ").append(2 * CHART_HEIGHT).append("\">\n")
                .append("<style>text{font:11px sans-serif}.title{font-weight:bold}.grid{stroke:#e3e3e3}"
                        + ".axis{stroke:#444}</style>\n")
                .append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n")
                .append("<g>\n").append(klChart).append("</g>\n")
                .append("<g transform=\"translate(0 ").append(CHART_HEIGHT).append(")\">\n").append(rankChart).append("</g>\n")
                .append("</svg>\n");
        return svg.toString();
    }
}
