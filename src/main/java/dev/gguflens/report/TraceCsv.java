package dev.gguflens.report;

import dev.gguflens.experiment.TraceReport;

import java.io.IOException;
import java.io.Writer;
import java.util.Locale;

/**
 * The causal trace as CSV, one row per cell: layer, column, label, p, restoration, then how many tokens the answer
 * has and the answer mode (p is the whole answer's when it has several and the mode is sequence). RFC 4180 quoting.
 */
public final class TraceCsv {
    private TraceCsv() {}

    public static void write(TraceReport r, Writer out) throws IOException {
        out.write(CsvReports.row("layer", r.columnKind(), "label", "p", "restoration", "answer_tokens", "answer_mode"));
        for (TraceReport.Row row : r.rows()) {
            double[] p = row.p();
            for (int c = 0; c < p.length; c++) {
                double restoration = r.restoration(p[c]);
                out.write(CsvReports.row(row.layer(), c, r.columnLabels().get(c), num(p[c]),
                        Double.isNaN(restoration) ? "" : num(restoration), r.answerTokens().size(), r.answerMode()));
            }
        }
    }

    private static String num(double v) {
        return String.format(Locale.ROOT, "%.6g", v);
    }
}
