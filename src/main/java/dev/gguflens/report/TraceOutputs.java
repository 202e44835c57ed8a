package dev.gguflens.report;

import dev.gguflens.experiment.TraceReport;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/** The causal trace's output set in --out: {@code trace.txt}, {@code trace.json}, {@code trace.csv}, {@code trace.html}, as one {@link OutputSet}. */
public final class TraceOutputs {
    private TraceOutputs() {}

    /** Every file name of the set, in writing order. */
    public static List<String> fileNames() {
        return List.of("trace.txt", "trace.json", "trace.csv", "trace.html");
    }

    public static void write(Path dir, TraceReport report) throws IOException {
        List<String> names = fileNames();
        try (OutputSet files = OutputSet.in(dir)) {
            files.text(names.get(0), w -> TraceText.write(report, w));
            files.text(names.get(1), w -> TraceJson.write(report, w));
            files.text(names.get(2), w -> TraceCsv.write(report, w));
            files.text(names.get(3), w -> TraceHtml.write(report, w));
            files.publish();
        }
    }
}
