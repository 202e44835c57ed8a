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
    void promptSetGivesMeanAndSpreadOfEveryPart(@TempDir Path dir) throws IOException {
        Path set = dir.resolve("set.jsonl");
        Files.writeString(set, """
                {"prompt": "Once upon a time, there was a little girl named", "expected": "Lily"}
                {"prompt": "Once upon a time, there was a little boy named", "expected": ["Tim", "Ben"]}

                {"prompt": "One day, Lily went to the", "expected": "park"}
                """);
        Path out = dir.resolve("out");
        CliRun r = CliRun.of("attribute", "-m", stories260K().toString(), "--prompts", set.toString(), "--out", out.toString(),
                "-t", "1", "--top", "3");
        assertEquals(0, r.exit(), r.err());
        System.out.println(r.out());
        assertTrue(r.out().contains("stories260K, 3 prompts"), r.out());
        assertTrue(r.out().contains("Top 3 heads by |mean|:"), r.out());
        assertTrue(r.out().contains("-> ' p'") && r.out().contains("(first of 3 tokens)"), "'park' has 3 tokens: " + r.out());
        assertTrue(r.out().matches("(?s).*Identity over all prompts: worst relative .* ok\n"), r.out());
        try (Stream<Path> files = Files.list(out)) {
            assertEquals(List.of("stories260K-attribution-p001.json", "stories260K-attribution-p002.json",
                    "stories260K-attribution-p003.json", "stories260K-attribution-summary.csv",
                    "stories260K-attribution-summary.json", "stories260K-attribution-summary.txt"),
                    files.map(p -> p.getFileName().toString()).sorted().toList());
        }
        // the summary's statistics, recomputed from the three prompts' own JSON
        JsonObject summary = JsonParser.parseString(Files.readString(out.resolve("stories260K-attribution-summary.json")))
                .getAsJsonObject();
        assertEquals(3, summary.getAsJsonArray("prompts").size());
        assertTrue(summary.get("identity_ok").getAsBoolean());
        double[] head = new double[3], mlp = new double[3];
        for (int i = 0; i < 3; i++) {
            JsonObject one = JsonParser.parseString(Files.readString(out.resolve(String.format("stories260K-attribution-p%03d.json",
                    i + 1)))).getAsJsonObject();
            JsonObject block3 = one.getAsJsonArray("blocks").get(3).getAsJsonObject();
            head[i] = block3.getAsJsonArray("heads").get(5).getAsDouble();
            mlp[i] = block3.get("mlp").getAsDouble();
        }
        assertEquals("Tim", JsonParser.parseString(Files.readString(out.resolve("stories260K-attribution-p002.json")))
                .getAsJsonObject().get("answer").getAsString(), "the first expected answer is attributed");
        JsonObject block3 = summary.getAsJsonArray("blocks").get(3).getAsJsonObject();
        assertStats(head, block3.getAsJsonArray("heads").get(5).getAsJsonObject());
        assertStats(mlp, block3.getAsJsonObject("mlp"));
        assertEquals(8, block3.getAsJsonArray("heads").size());
    }

    private static void assertStats(double[] values, JsonObject stats) {
        double mean = (values[0] + values[1] + values[2]) / 3;
        double var = 0;
        for (double v : values) var += (v - mean) * (v - mean);
        assertEquals(mean, stats.get("mean").getAsDouble(), 1e-9 * Math.max(1, Math.abs(mean)));
        assertEquals(Math.sqrt(var / 2), stats.get("std").getAsDouble(), 1e-9);
        assertEquals(Math.min(values[0], Math.min(values[1], values[2])), stats.get("min").getAsDouble(), 1e-12);
        assertEquals(Math.max(values[0], Math.max(values[1], values[2])), stats.get("max").getAsDouble(), 1e-12);
    }

    @Test
    void capitalsSuiteRuns() {
        CliRun r = CliRun.of("attribute", "-m", stories260K().toString(), "--suite", "capitals", "-t", "1");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("stories260K, 16 prompts"), r.out());
        assertTrue(r.out().contains("'Question: What is the capital of Germany? Answer:'"), r.out());
    }

    @Test
    void badInputIsOneLineAndExitTwo() {
        String m = stories260K().toString();
        assertUsage(CliRun.of("attribute", "-m", m, "-p", STORY, "--expect", "Lily", "--position", "14"), "position");
        assertUsage(CliRun.of("attribute", "-m", m, "-p", STORY, "--expect", "Lily", "--top", "0"), "top");
        assertUsage(CliRun.of("attribute", "-m", m, "-p", STORY, "--expect", "Lily", "--vs", "Lily"), "same token");
        assertUsage(CliRun.of("attribute", "-m", m, "-p", STORY), "--expect");
        assertUsage(CliRun.of("attribute", "-m", m, "-p", STORY, "--suite", "capitals"), "exactly one of");
        assertUsage(CliRun.of("attribute", "-m", m, "--suite", "capitals", "--html", "x.html"), "--html");
        assertUsage(CliRun.of("attribute", "-m", m, "--suite", "capitals", "--expect", "Lily"), "--expect");
        assertUsage(CliRun.of("attribute", "-m", m, "--suite", "nations"), "nations");
    }

    private static void assertUsage(CliRun r, String mention) {
        assertEquals(2, r.exit(), r.out() + r.err());
        assertTrue(r.err().startsWith("gguf-lens: "), r.err());
        assertTrue(r.err().contains(mention), r.err());
        assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
    }

    /**
     * {@code --answer-mode sequence} on a four-token answer ('Berlin' = ' B' 'er' 'l' 'in' on stories260K): each token
     * is attributed at the position that predicts it and the parts are their sums; the first token's share equals
     * a first-mode run's attribution of the same token, and the whole still sums to llama.cpp's logits.
     */
    @Test
    void sequenceModeSumsEveryAnswerTokenAtThePositionThatPredictsIt(@TempDir Path dir) throws IOException {
        Path out = dir.resolve("seq");
        CliRun seq = CliRun.of("attribute", "-m", stories260K().toString(), "-p", STORY, "--expect", "Berlin", "-t", "1",
                "--answer-mode", "sequence", "--out", out.toString());
        assertEquals(0, seq.exit(), seq.err());
        System.out.println(seq.out());
        assertTrue(seq.out().contains("'Berlin' is 4 tokens: ' B' 'er' 'l' 'in'; all are attributed"), seq.out());
        assertTrue(seq.out().contains("KV cache: f32, flash attention off: every layer is the exact F32 forward"), seq.out());
        JsonObject o = JsonParser.parseString(Files.readString(out.resolve("stories260K-attribution.json"))).getAsJsonObject();
        assertEquals("sequence", o.get("answer_mode").getAsString());
        assertTrue(o.get("multi_token").getAsBoolean());
        assertTrue(o.getAsJsonObject("kv_cache").get("exact").getAsBoolean());
        JsonArray answerTokens = o.getAsJsonArray("answer_tokens");
        JsonArray forced = o.getAsJsonArray("teacher_forced");
        assertEquals(4, answerTokens.size());
        assertEquals(4, forced.size());
        double logits = 0, parts = 0;
        for (int j = 0; j < 4; j++) {
            JsonObject t = forced.get(j).getAsJsonObject();
            assertEquals(13 + j, t.get("position").getAsInt(), "token j is predicted at the last prompt position + j");
            assertEquals(answerTokens.get(j).getAsJsonObject().get("id").getAsInt(), t.get("id").getAsInt());
            assertEquals(t.get("logit").getAsDouble(), t.get("sum_of_parts").getAsDouble(), 1e-4 * Math.abs(t.get("logit").getAsDouble()));
            logits += t.get("logit").getAsDouble();
            parts += t.get("sum_of_parts").getAsDouble();
        }
        assertEquals(logits, o.get("answer_logit").getAsDouble(), 1e-9 * Math.abs(logits));
        assertEquals(parts, o.get("sum_of_parts").getAsDouble(), 1e-9 * Math.abs(parts));
        assertTrue(o.getAsJsonObject("identity").get("ok").getAsBoolean());
        List<String> csv = Files.readAllLines(out.resolve("stories260K-attribution.csv"));
        assertEquals(4, csv.stream().filter(l -> l.startsWith("answer_token,")).count());
        String html = Files.readString(out.resolve("stories260K-attribution.html"));
        assertTrue(html.contains("id=\"answer-tokens\"") && html.contains("id=\"kv-cache\""), "html states tokens and cache");

        Path firstJson = dir.resolve("first.json");
        CliRun first = CliRun.of("attribute", "-m", stories260K().toString(), "-p", STORY, "--expect", "Berlin", "-t", "1",
                "--json", firstJson.toString());
        assertEquals(0, first.exit(), first.err());
        assertTrue(first.out().contains("'Berlin' is 4 tokens: ' B' 'er' 'l' 'in'; only the first is attributed"), first.out());
        JsonObject f = JsonParser.parseString(Files.readString(firstJson)).getAsJsonObject();
        assertTrue(f.get("multi_token").getAsBoolean());
        assertTrue(f.get("teacher_forced").isJsonNull());
        JsonObject first0 = forced.get(0).getAsJsonObject();
        assertEquals(f.get("answer_logit").getAsDouble(), first0.get("logit").getAsDouble(), 1e-5);
        assertEquals(f.get("sum_of_parts").getAsDouble(), first0.get("sum_of_parts").getAsDouble(), 1e-5);

        CliRun versus = CliRun.of("attribute", "-m", stories260K().toString(), "-p", STORY, "--expect", "Berlin",
                "--answer-mode", "sequence", "--vs", "Paris");
        assertEquals(2, versus.exit());
        assertTrue(versus.err().startsWith("gguf-lens: --vs goes with --answer-mode first"), versus.err());
    }
}
