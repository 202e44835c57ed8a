package dev.gguflens.report;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;

import java.io.IOException;
import java.io.Writer;

/** The probe's JSON output: {@link ProbeReport} serialised field by field (schema in README.md). */
public final class JsonReport {
    private static final Gson GSON = new GsonBuilder()
            .setPrettyPrinting()
            .disableHtmlEscaping()
            .serializeSpecialFloatingPointValues()
            .serializeNulls()
            .create();

    private JsonReport() {}

    public static Gson gson() {
        return GSON;
    }

    public static void write(ProbeReport r, Writer out) throws IOException {
        GSON.toJson(r, out);
        out.write('\n');
    }

    public static ProbeReport read(String json) {
        return GSON.fromJson(json, ProbeReport.class);
    }
}
