package dev.gguflens.report;

import dev.gguflens.experiment.ProbeReport;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

public class ReportRenderingTest {

    @Test
    void jsonRoundTripsEveryField() throws IOException {
        ProbeReport report = SampleReports.small();
        StringWriter json = new StringWriter();
        Json.write(report, json);
        assertEquals(report, Json.read(json.toString(), ProbeReport.class));
        for (String key : List.of("\"model\"", "\"n_layer\"", "\"file_type\"", "\"tokens\"", "\"lens\"", "\"layers\"",
                "\"entropy_bits\"", "\"kl_to_final_bits\"", "\"cos_to_final\"", "\"final\"", "\"consistency\"",
                "\"top1_agree\"", "\"milestones\"", "\"extra_prompts\"", "\"temperatures\"", "\"timings\"", "\"positions\"")) {
            assertTrue(json.toString().contains(key), key);
        }
    }

    @Test
    void csvCellsSurviveCommasQuotesAndNewlines() throws IOException {
        ProbeReport report = SampleReports.small();
        StringWriter csv = new StringWriter();
        CsvReports.writeRecords(report, csv);
        List<List<String>> rows = parseCsv(csv.toString());
        assertEquals(List.of("layer", "pos", "token_id", "token", "entropy_nats", "entropy_bits", "top_ids", "top_tokens", "top_probs",
                "site"), rows.getFirst());
        assertEquals("block_in", rows.get(1).get(9), "layer 0 enters block 0");
        assertEquals(1 + report.positions().size() * report.layers().size(), rows.size());
        List<String> row = rows.get(1 + 3 * report.layers().size()); // position 3, layer 0
        assertEquals(" a,b \"c\"", row.get(3));
        assertEquals("[\"tok0\",\"\\t|\"]", row.get(7));

        StringWriter pure = new StringWriter();
        CsvReports.writePureNextToken(report, pure);
        List<List<String>> pureRows = parseCsv(pure.toString());
        assertEquals(1 + report.layers().size(), pureRows.size());
        int kl = pureRows.getFirst().indexOf("kl_to_final_bits");
        assertEquals(3.0, Double.parseDouble(pureRows.get(1).get(kl)), 1e-12);
        assertEquals("expected0_rank", pureRows.getFirst().get(pureRows.getFirst().size() - 3));
        assertEquals("site", pureRows.getFirst().getLast());
    }

    @Test
    void textReportShowsEveryLayerAndSection() {
        String text = TextReport.render(SampleReports.small(), true);
        assertTrue(text.contains("Layer  0 (embeddings):"), text);
        assertTrue(text.contains("Layer  3 (block 2):"), text);
        assertTrue(text.contains("1. ' Berlin' (0.800)"), text);
        assertTrue(text.contains("'\\t|'"), "tab made visible: " + text);
        assertTrue(text.matches("(?s).*first layer with answer at rank 1: +layer 3 \\(100% of depth\\).*"), text);
        assertTrue(text.contains("Tracking 'Berlin' as token 13 ' Berlin'"), text);
        assertTrue(text.contains("Temperature sweep"), text);
        assertTrue(text.contains("Timings:"), text);
        assertFalse(TextReport.render(SampleReports.small(), false).contains("Timings:"));
    }

    /** Every key of the JSON outputs is snake_case (the values under {@code opaque} keys hold names from files). */
    public static void assertSnakeCaseKeys(com.google.gson.JsonElement e, java.util.Set<String> opaque, String where) {
        if (e.isJsonArray()) {
            for (var item : e.getAsJsonArray()) assertSnakeCaseKeys(item, opaque, where);
        } else if (e.isJsonObject()) {
            for (var entry : e.getAsJsonObject().entrySet()) {
                assertTrue(entry.getKey().matches("[a-z][a-z0-9_]*"), where + ": key '" + entry.getKey() + "' is not snake_case");
                if (!opaque.contains(entry.getKey())) assertSnakeCaseKeys(entry.getValue(), opaque, where);
            }
        }
    }

    @Test
    void everyReportKeyIsSnakeCase() {
        assertSnakeCaseKeys(com.google.gson.JsonParser.parseString(Json.pretty(SampleReports.withPositions())), java.util.Set.of(), "probe JSON");
        assertSnakeCaseKeys(com.google.gson.JsonParser.parseString(Json.pretty(SampleReports.small())), java.util.Set.of(), "probe JSON");
        record LaterRecord(int nLayer, double klToFinalBits) {}
        assertEquals("{\"n_layer\":1,\"kl_to_final_bits\":0.5}", Json.compact(new LaterRecord(1, 0.5)),
                "a field without @SerializedName is written in snake_case too");
    }

    @Test
    void tokenDisplayMakesInvisiblesVisible() {
        assertEquals("' Berlin'", TokenDisplay.quoted(" Berlin"));
        assertEquals("'\\n\\x00\\u200b'", TokenDisplay.quoted("\n\u0000\u200b"));
        assertTrue(TokenDisplay.isWhitespaceOrPunctuation(" ,\u2581"));
        assertFalse(TokenDisplay.isWhitespaceOrPunctuation(" Berlin"));
    }

    /** A strict RFC 4180 reader, independent of the writer. */
    static List<List<String>> parseCsv(String text) {
        List<List<String>> rows = new ArrayList<>();
        List<String> row = new ArrayList<>();
        StringBuilder cell = new StringBuilder();
        boolean quoted = false;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (quoted) {
                if (c == '"' && i + 1 < text.length() && text.charAt(i + 1) == '"') { cell.append('"'); i++; }
                else if (c == '"') quoted = false;
                else cell.append(c);
            } else if (c == '"') {
                quoted = true;
            } else if (c == ',') {
                row.add(cell.toString()); cell.setLength(0);
            } else if (c == '\n') {
                row.add(cell.toString()); cell.setLength(0); rows.add(row); row = new ArrayList<>();
            } else {
                cell.append(c);
            }
        }
        assertFalse(quoted, "unterminated quote");
        return rows;
    }
}
