package dev.gguflens.cli;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static dev.gguflens.testmodels.Fixtures.requireNative;
import static dev.gguflens.testmodels.Fixtures.stories260K;
import static org.junit.jupiter.api.Assertions.*;

/** {@code gguf-lens trace} through the CLI: the text matrix, the output files and bad input. */
class TraceCommandTest {
    static final String CLEAN = "Once upon a time, there was a little girl named";
    static final String CORRUPT = "Once upon a time, there was a little boy named";

    @BeforeAll
    static void nativeLibrary() {
        requireNative();
    }

    @Test
    void residualTraceWritesTextJsonAndCsv(@TempDir Path dir) throws IOException {
        CliRun r = CliRun.of("trace", "-m", stories260K().toString(), "--clean", CLEAN, "--corrupt", CORRUPT, "--expect", "Lily",
                "-t", "2", "--batch", "64", "--out", dir.resolve("out").toString(), "--json", dir.resolve("t.json").toString(),
                "--timings");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("site resid"), r.out());
        assertTrue(r.out().contains("layer     <s>   ␣Once"), r.out());
        // 5 blocks x 14 positions + the last block's output at the last position are run; 13 cells have no path.
        assertTrue(r.out().contains("timings: 84 cells: 71 patched runs + 13 cells with no path to the answer"), r.out());
        // Each run computes its suffix: 5 x (14 + 13 + ... + 1) + 1 = 526, against one 14-token run per cell.
        assertTrue(r.out().contains("computed token positions 526 (each run from its patched position on) of naive 1176"
                + " (one 14-token run per cell)"), r.out());
        assertTrue(r.out().matches("(?s).*llama\\.cpp plain prompt processing [\\d.]+ positions/s \\(\\d decodes of the same sizes.*"),
                r.out());
        try (Stream<Path> files = Files.list(dir.resolve("out"))) {
            assertEquals(List.of("trace.csv", "trace.html", "trace.json", "trace.txt"), files.map(p -> p.getFileName().toString()).sorted().toList());
        }
        JsonObject json = JsonParser.parseString(Files.readString(dir.resolve("t.json"))).getAsJsonObject();
        assertEquals(Files.readString(dir.resolve("out/trace.json")), Files.readString(dir.resolve("t.json")));
        assertEquals(" Lily", json.get("answer_token").getAsString());
        double pClean = json.get("p_clean").getAsDouble(), pCorrupt = json.get("p_corrupt").getAsDouble();
        assertTrue(pClean > 0.5 && pCorrupt < 0.05);
        JsonArray patch = json.getAsJsonArray("patch");
        assertEquals(6, patch.size(), "layers 0..5");
        for (int layer = 0; layer < 6; layer++) {
            JsonObject row = patch.get(layer).getAsJsonObject();
            assertEquals(layer, row.get("layer").getAsInt());
            assertEquals(14, row.getAsJsonArray("p").size());
        }
        JsonArray last = patch.get(5).getAsJsonObject().getAsJsonArray("p");
        assertEquals(pClean, last.get(13).getAsDouble(), 1e-4 * pClean);
        assertEquals(pCorrupt, last.get(0).getAsDouble(), 0.0);
        JsonObject timings = json.getAsJsonObject("timings");
        assertEquals(526, timings.get("computed_positions").getAsInt());
        assertEquals(1176, timings.get("naive_positions").getAsInt());
        assertEquals(84, timings.get("cells").getAsInt());
        assertEquals(71, timings.get("runs").getAsInt());
        // --batch 64: balanced decodes of at most 64 tokens, each with the 14-token prompt in the cache under it.
        int decodes = timings.get("decodes").getAsInt();
        assertTrue(timings.get("largest_batch").getAsInt() <= 64 && decodes >= 9, timings.toString());
        assertEquals(14, timings.get("plain_prefix").getAsInt());
        assertTrue(timings.get("plain_decodes").getAsInt() == Math.min(3, decodes), timings.toString());
        List<String> csv = Files.readAllLines(dir.resolve("out/trace.csv"));
        assertEquals("layer,position,label,p,restoration,answer_tokens,answer_mode", csv.getFirst());
        assertTrue(json.getAsJsonObject("kv_cache").get("exact").getAsBoolean(), "the trace states its KV cache");
        assertFalse(json.get("multi_token").getAsBoolean());
        assertEquals(1 + 6 * 14, csv.size());
    }

    @Test
    void promptsOfDifferentLengthsAndUnknownSitesAreUsageErrors() {
        CliRun r = CliRun.of("trace", "-m", stories260K().toString(), "--clean", CLEAN, "--corrupt",
                "Once upon a time, there was a little dragon named", "--expect", "Lily");
        assertEquals(2, r.exit(), r.err());
        assertTrue(r.err().startsWith("gguf-lens: ") && r.err().contains("same length") && r.err().strip().lines().count() == 1,
                r.err());
        r = CliRun.of("trace", "-m", stories260K().toString(), "--clean", CLEAN, "--corrupt", CORRUPT, "--expect", "Lily",
                "--site", "neurons");
        assertEquals(2, r.exit(), r.err());
        assertTrue(r.err().contains("--site must be resid, attn, mlp or heads"), r.err());
    }
}
