package dev.gguflens.report;

import dev.gguflens.experiment.TraceReport;

import com.google.gson.JsonArray;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;

import java.io.IOException;
import java.io.Writer;

/** The causal trace as JSON (schema in README.md): snake_case keys, restoration null where undefined. */
public final class TraceJson {
    private TraceJson() {}

    public static void write(TraceReport r, Writer out) throws IOException {
        Json.write(tree(r), out);
    }

    static JsonObject tree(TraceReport r) {
        JsonObject o = new JsonObject();
        o.add("model", Json.tree(r.model()));
        o.addProperty("site", r.site());
        o.addProperty("clean_prompt", r.cleanPrompt());
        o.addProperty("corrupt_prompt", r.corruptPrompt());
        o.add("clean_tokens", Json.tree(r.cleanTokens()));
        o.add("corrupt_tokens", Json.tree(r.corruptTokens()));
        o.addProperty("answer", r.answer());
        o.addProperty("answer_id", r.answerId());
        o.addProperty("answer_token", r.answerToken());
        o.addProperty("answer_mode", r.answerMode());
        o.add("answer_tokens", Json.tree(r.answerTokens()));
        o.addProperty("multi_token", r.multiToken());
        o.add("kv_cache", r.kvCache() == null ? JsonNull.INSTANCE : Json.tree(r.kvCache()));
        o.addProperty("p_clean", r.pClean());
        o.addProperty("p_corrupt", r.pCorrupt());
        o.addProperty("columns", r.columnKind());
        JsonArray labels = new JsonArray();
        r.columnLabels().forEach(labels::add);
        o.add("column_labels", labels);
        JsonArray patch = new JsonArray();
        for (TraceReport.Row row : r.rows()) {
            JsonObject e = new JsonObject();
            e.addProperty("layer", row.layer());
            JsonArray p = new JsonArray();
            JsonArray restoration = new JsonArray();
            for (double v : row.p()) {
                p.add(v);
                restoration.add(Json.finiteOrNull(r.restoration(v)));
            }
            e.add("p", p);
            e.add("restoration", restoration);
            patch.add(e);
        }
        o.add("patch", patch);
        if (r.timings() == null) {
            o.add("timings", JsonNull.INSTANCE);
        } else {
            TraceReport.Timings t = r.timings();
            JsonObject tj = new JsonObject();
            tj.addProperty("cells", t.cells());
            tj.addProperty("runs", t.runs());
            tj.addProperty("computed_positions", t.computedPositions());
            tj.addProperty("naive_positions", t.naivePositions());
            tj.addProperty("decodes", t.decodes());
            tj.addProperty("mean_batch", t.meanBatch());
            tj.addProperty("largest_batch", t.largestBatch());
            tj.addProperty("trace_ms", t.traceMillis());
            tj.addProperty("trace_positions_per_s", t.tracePositionsPerSecond());
            tj.addProperty("plain_decodes", t.plainDecodes());
            tj.addProperty("plain_positions", t.plainPositions());
            tj.addProperty("plain_prefix", t.plainPrefix());
            tj.addProperty("plain_ms", t.plainMillis());
            tj.addProperty("plain_positions_per_s", t.plainPositionsPerSecond());
            tj.addProperty("ratio", t.ratio());
            o.add("timings", tj);
        }
        return o;
    }
}
