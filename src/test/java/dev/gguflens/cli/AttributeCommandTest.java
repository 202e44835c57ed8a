package dev.gguflens.cli;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
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

/** {@code gguf-lens attribute} through the CLI on stories260K: the table, the identity line, the JSON and bad input. */
class AttributeCommandTest {
    static final String STORY = ProbeCommandTest.STORY;

    @BeforeAll
    static void nativeLibrary() {
        requireNative();
    }

    @Test
    void lilyTableAndJson(@TempDir Path dir) throws IOException {
        Path json = dir.resolve("lily.json");
        CliRun r = CliRun.of("attribute", "-m", stories260K().toString(), "-p", STORY, "--expect", "Lily", "-t", "1",
                "--json", json.toString(), "--top", "5");
        assertEquals(0, r.exit(), r.err());
        System.out.println(r.out());
        assertTrue(r.out().contains("Answer: 'Lily' as token 317 ' Lily'"), r.out());
        assertTrue(r.out().matches("(?s).*Identity: sum of parts 18\\.05\\d+ vs llama\\.cpp 18\\.05\\d+: .* ok\\n"), r.out());
        assertTrue(r.out().contains("Top 5 heads by |contribution|:"), r.out());

        JsonObject o = JsonParser.parseString(Files.readString(json)).getAsJsonObject();
        for (String key : List.of("model", "prompt", "tokens", "position", "answer", "answer_id", "answer_token", "answer_logit",
                "other", "decomposed", "target", "embedding", "blocks", "constant", "sum_of_parts", "identity",
                "frozen_norm_scale", "head_count", "notes")) {
            assertTrue(o.has(key), "JSON lacks " + key);
        }
        assertEquals(317, o.get("answer_id").getAsInt());
        assertEquals(13, o.get("position").getAsInt());
        JsonArray blocks = o.getAsJsonArray("blocks");
        assertEquals(5, blocks.size());
        double sum = o.get("embedding").getAsDouble() + o.get("constant").getAsDouble();
        for (JsonElement e : blocks) {
            JsonObject b = e.getAsJsonObject();
            for (String key : List.of("block", "attention", "mlp", "heads", "attention_bias", "heads_remainder")) {
                assertTrue(b.has(key), "block lacks " + key);
            }
            JsonArray heads = b.getAsJsonArray("heads");
            assertEquals(8, heads.size());
            double headSum = 0;
            for (JsonElement h : heads) headSum += h.getAsDouble();
            double attention = b.get("attention").getAsDouble();
            assertEquals(attention, headSum, 1e-4 * Math.max(1, Math.abs(attention)), "heads sum to the attention part");
            sum += attention + b.get("mlp").getAsDouble();
        }
        double sumOfParts = o.get("sum_of_parts").getAsDouble();
        assertEquals(sumOfParts, sum, 1e-9 * Math.abs(sum));
        assertEquals(o.get("answer_logit").getAsDouble(), sumOfParts, 1e-4 * Math.abs(sumOfParts), "identity");
        assertTrue(o.getAsJsonObject("identity").get("ok").getAsBoolean());
        assertTrue(o.get("other").isJsonNull());
    }

    @Test
    void versusAttributesTheDifferenceAndOutWritesBothFiles(@TempDir Path dir) throws IOException {
        Path out = dir.resolve("attr");
        CliRun r = CliRun.of("attribute", "-m", stories260K().toString(), "-p", STORY, "--expect", "Lily", "--vs", "Sue",
                "--out", out.toString(), "-q");
        assertEquals(0, r.exit(), r.err());
        assertEquals("", r.out());
        try (Stream<Path> files = Files.list(out)) {
            assertEquals(List.of("stories260K-attribution.csv", "stories260K-attribution.html", "stories260K-attribution.json",
                    "stories260K-attribution.txt"), files.map(p -> p.getFileName().toString()).sorted().toList());
        }
        // the CSV's parts (embedding, attention, mlp, constant) sum to its sum_of_parts row; its heads to each attention row
        List<String> csv = Files.readAllLines(out.resolve("stories260K-attribution.csv"));
        assertEquals("part,block,head,contribution", csv.getFirst());
        double parts = 0, sumRow = Double.NaN;
        for (String line : csv.subList(1, csv.size())) {
            String[] cells = line.split(",");
            double v = Double.parseDouble(cells[3]);
            switch (cells[0]) {
                case "embedding", "attention", "mlp", "constant" -> parts += v;
                case "sum_of_parts" -> sumRow = v;
                default -> { }
            }
        }
        assertEquals(sumRow, parts, 1e-6 * Math.abs(sumRow));
        assertEquals(5 * 8, csv.stream().filter(l -> l.startsWith("head,")).count());
        assertTrue(Files.readString(out.resolve("stories260K-attribution.html")).contains("id=\"head-map\""));
        JsonObject o = JsonParser.parseString(Files.readString(out.resolve("stories260K-attribution.json"))).getAsJsonObject();
        JsonObject other = o.getAsJsonObject("other");
        double difference = o.get("answer_logit").getAsDouble() - other.get("logit").getAsDouble();
        assertEquals(difference, o.get("sum_of_parts").getAsDouble(), 1e-4 * Math.abs(difference));
        assertTrue(Files.readString(out.resolve("stories260K-attribution.txt")).contains("Versus: 'Sue'"));
    }

    @Test
    void badInputIsOneLineAndExitTwo() {
        String m = stories260K().toString();
        assertUsage(CliRun.of("attribute", "-m", m, "-p", STORY, "--expect", "Lily", "--position", "14"), "position");
        assertUsage(CliRun.of("attribute", "-m", m, "-p", STORY, "--expect", "Lily", "--top", "0"), "top");
        assertUsage(CliRun.of("attribute", "-m", m, "-p", STORY, "--expect", "Lily", "--vs", "Lily"), "same token");
        assertUsage(CliRun.of("attribute", "-m", m, "-p", STORY), "--expect");
    }

    private static void assertUsage(CliRun r, String mention) {
        assertEquals(2, r.exit(), r.out() + r.err());
        assertTrue(r.err().startsWith("gguf-lens: "), r.err());
        assertTrue(r.err().contains(mention), r.err());
        assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
    }
}
