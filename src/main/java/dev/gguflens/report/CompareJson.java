package dev.gguflens.report;

import java.io.IOException;
import java.io.Writer;

/** {@code compare.json}: {@link CompareReport} serialised field by field (absent values are null, never dropped). */
public final class CompareJson {
    private CompareJson() {}

    public static void write(CompareReport report, Writer out) throws IOException {
        JsonReport.gson().toJson(report, out);
        out.write('\n');
    }

    public static CompareReport read(String json) {
        return JsonReport.gson().fromJson(json, CompareReport.class);
    }
}
