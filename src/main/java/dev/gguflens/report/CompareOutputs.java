package dev.gguflens.report;

import dev.gguflens.experiment.CompareReport;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/** The comparison's output set in --out: the table, JSON, per-layer CSV, SVG curves and HTML page, as one {@link OutputSet}. */
public final class CompareOutputs {
    public static final List<String> FILE_NAMES =
            List.of("compare.txt", "compare.json", "compare-layers.csv", "compare.svg", "compare.html");

    private CompareOutputs() {}

    public static void write(Path dir, CompareReport report) throws IOException {
        try (OutputSet set = OutputSet.in(dir)) {
            set.text("compare.txt", w -> w.write(CompareTable.render(report)));
            set.text("compare.json", w -> Json.write(report, w));
            set.text("compare-layers.csv", w -> CompareCsv.write(report, w));
            set.text("compare.svg", w -> w.write(ComparePlot.render(report)));
            set.text("compare.html", w -> CompareHtml.write(report, w));
            set.publish();
        }
    }
}
