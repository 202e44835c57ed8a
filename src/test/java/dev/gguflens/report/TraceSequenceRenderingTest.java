package dev.gguflens.report;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.gguflens.experiment.ProbeReport;
import dev.gguflens.experiment.TraceReport;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A sequence-mode trace (p is the whole answer's: 'Lily. She', three tokens) in every rendering: each says that p
 * is the whole answer's and which tokens it has, and the KV cache the trace ran with. (The numbers of such a trace
 * are experiment's CausalTraceSequenceTest.)
 */
class TraceSequenceRenderingTest {
    private static final List<String> PROMPT = List.of("<s>", " Once", " upon", " a", " boy", " named");

    static TraceReport sequenceTrace() {
        List<ProbeReport.TokenInfo> tokens = IntStream.range(0, PROMPT.size())
                .mapToObj(i -> new ProbeReport.TokenInfo(i + 1, PROMPT.get(i))).toList();
        List<TraceReport.Row> rows = new ArrayList<>();
        for (int layer = 0; layer <= 3; layer++) {
            rows.add(new TraceReport.Row(layer, IntStream.range(0, PROMPT.size()).mapToDouble(pos -> 0.01 + 0.001 * pos).toArray()));
        }
        var model = new ProbeReport.ModelInfo("sample", "sample.gguf", "llama", 3, 64, 512, 8, 8, 512, "F32", "F32", 1000, 4000);
        List<ProbeReport.TokenInfo> answer = List.of(new ProbeReport.TokenInfo(317, " Lily"),
                new ProbeReport.TokenInfo(29889, "."), new ProbeReport.TokenInfo(2296, " She"));
        return new TraceReport(model, "resid", "Once upon a girl named", "Once upon a boy named", tokens, tokens,
                "Lily. She", 317, " Lily", 0.2, 0.01, "position", PROMPT, rows, null,
                new ProbeReport.KvCache("f32", "off", true, null), "sequence", answer);
    }

    @Test
    void everyRenderingSaysPIsTheWholeAnswers() throws IOException {
        TraceReport r = sequenceTrace();
        StringWriter text = new StringWriter(), json = new StringWriter(), csv = new StringWriter(), html = new StringWriter();
        TraceText.write(r, text);
        TraceJson.write(r, json);
        TraceCsv.write(r, csv);
        TraceHtml.write(r, html);
        String note = "'Lily. She' is 3 tokens: ' Lily' '.' ' She'; p is the whole answer's";
        assertTrue(text.toString().contains(note) && text.toString().contains("p(whole answer)"), text.toString());
        assertTrue(text.toString().contains("KV cache:  f32, flash attention off"), text.toString());
        JsonObject o = JsonParser.parseString(json.toString()).getAsJsonObject();
        assertEquals("sequence", o.get("answer_mode").getAsString());
        assertTrue(o.get("multi_token").getAsBoolean());
        assertEquals(3, o.getAsJsonArray("answer_tokens").size());
        assertEquals("f32", o.getAsJsonObject("kv_cache").get("type").getAsString());
        assertEquals(4 * PROMPT.size(), csv.toString().lines().skip(1).count(), "one line per cell");
        assertTrue(csv.toString().lines().skip(1).allMatch(l -> l.endsWith(",3,sequence")), csv.toString());
        assertTrue(html.toString().contains("id=\"answer-tokens\"") && html.toString().contains("id=\"kv-cache\""));
    }
}
