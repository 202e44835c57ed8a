package dev.gguflens.report;

import java.io.IOException;
import java.io.Writer;

/** The attribution's JSON output: {@link AttributionReport} serialised field by field (schema in README.md). */
public final class AttributionJson {
    private AttributionJson() {}

    public static void write(AttributionReport r, Writer out) throws IOException {
        JsonReport.gson().toJson(r, out);
        out.write('\n');
    }

    public static String render(AttributionReport r) {
        return JsonReport.gson().toJson(r) + "\n";
    }

    public static AttributionReport read(String json) {
        return JsonReport.gson().fromJson(json, AttributionReport.class);
    }
}
