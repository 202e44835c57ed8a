package dev.gguflens.report;

import com.google.gson.FieldNamingPolicy;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonPrimitive;

import java.io.IOException;
import java.io.Writer;

/**
 * The one JSON setup of every output: report files (probe, compare, attribute), {@code info --json},
 * {@code bench --json}, and the JSON cells of CSV and HTML. Keys are snake_case: the report records name their
 * keys with {@code @SerializedName}, and a field without one is written in snake_case too, never camelCase.
 * Text is not HTML-escaped (the HTML report escapes for itself).
 */
public final class Json {
    /** Files: indented, nulls written (an absent value is null, never a missing key). */
    private static final Gson FILES = new GsonBuilder()
            .setFieldNamingPolicy(FieldNamingPolicy.LOWER_CASE_WITH_UNDERSCORES)
            .setPrettyPrinting()
            .disableHtmlEscaping()
            .serializeSpecialFloatingPointValues()
            .serializeNulls()
            .create();
    /** Cells: one line. */
    private static final Gson CELLS = new GsonBuilder()
            .setFieldNamingPolicy(FieldNamingPolicy.LOWER_CASE_WITH_UNDERSCORES)
            .disableHtmlEscaping()
            .create();

    private Json() {}

    /** Writes {@code value} as an indented JSON document and a newline. */
    public static void write(Object value, Writer out) throws IOException {
        FILES.toJson(value, out);
        out.write('\n');
    }

    /** An indented JSON document (no trailing newline). */
    public static String pretty(Object value) {
        return FILES.toJson(value);
    }

    /** One line, for a CSV cell or an HTML data attribute. */
    public static String compact(Object value) {
        return CELLS.toJson(value);
    }

    public static <T> T read(String json, Class<T> type) {
        return FILES.fromJson(json, type);
    }

    /**
     * A number as JSON can hold it: a value that is exactly a float is written in float's shortest form (a
     * GGUF float32 1e-5 reads 1.0E-5, not 9.999999747378752E-6); NaN and the infinities, which JSON lacks,
     * become the strings "NaN", "Infinity" and "-Infinity".
     */
    public static JsonElement number(double v) {
        if (!Double.isFinite(v)) return new JsonPrimitive(Double.toString(v));
        return (double) (float) v == v ? new JsonPrimitive((float) v) : new JsonPrimitive(v);
    }

    /** A computed value where NaN or an infinity means "not measured" or "undefined": null then, else {@link #number}. */
    public static JsonElement finiteOrNull(double v) {
        return Double.isFinite(v) ? number(v) : JsonNull.INSTANCE;
    }

    /** {@code value} as a JSON tree, with the same keys as {@link #write}. */
    public static JsonElement tree(Object value) {
        return FILES.toJsonTree(value);
    }
}
