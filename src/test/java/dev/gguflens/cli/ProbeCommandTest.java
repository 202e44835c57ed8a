package dev.gguflens.cli;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.gguflens.gguf.GgufWriter;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static dev.gguflens.testmodels.Fixtures.projectDir;
import static dev.gguflens.testmodels.Fixtures.requireNative;
import static dev.gguflens.testmodels.Fixtures.stories260K;
import static org.junit.jupiter.api.Assertions.*;

/** {@code gguf-lens probe} through the CLI: golden text report, output files, timings and every bad input. */
class ProbeCommandTest {
    static final String STORY = "Once upon a time, there was a little girl named";
    static final Path GOLDEN = projectDir().resolve("src/test/resources/golden/stories260K-probe.txt");


    @BeforeAll
    static void nativeLibrary() {
        requireNative();
    }

    static CliRun run(String... args) {
        return CliRun.of(args);
    }

    @Test
    void textReportMatchesGoldenFile() throws IOException {
        CliRun r = run("probe", "-m", stories260K().toString(), "-p", STORY, "--expect", "Lily", "--top-k", "5", "-t", "1");
        assertEquals(0, r.exit(), r.err());
        // The backend line names this machine's CPU: checked here, left out of the golden file.
        assertTrue(r.out().matches("(?s).*\nBackend: CPU .*; 0/6 layers offloaded\n.*"),
                r.out());
        String out = r.out().replaceAll("(?m)^Backend: .*\n", "");
        if (Boolean.getBoolean("gguflens.golden.update")) {
            Files.createDirectories(GOLDEN.getParent());
            Files.writeString(GOLDEN, out, StandardCharsets.UTF_8);
        }
        assertEquals(Files.readString(GOLDEN, StandardCharsets.UTF_8), out,
                "text report differs from " + GOLDEN + " (rerun with -Dgguflens.golden.update=true if intended)");
    }

    @Test
    void outDirectoryGetsEveryFileAndTheJsonCarriesEveryField(@TempDir Path dir) throws IOException {
        Path out = dir.resolve("results");
        CliRun r = run("probe", "-m", stories260K().toString(), "-p", STORY, "--expect", "Lily", "--out", out.toString(), "-q");
        assertEquals(0, r.exit(), r.err());
        assertEquals("", r.out(), "--quiet prints no report");
        try (Stream<Path> files = Files.list(out)) {
            assertEquals(List.of("stories260K-pure-next-token.csv", "stories260K-records.csv", "stories260K.html",
                    "stories260K.json", "stories260K.txt"), files.map(p -> p.getFileName().toString()).sorted().toList());
        }
        JsonObject json = JsonParser.parseString(Files.readString(out.resolve("stories260K.json"))).getAsJsonObject();
        for (String key : List.of("model", "prompt", "tokens", "lens", "layers", "positions", "final", "consistency",
                "milestones", "extra_prompts", "temperatures", "timings", "kv_cache", "answers")) {
            assertTrue(json.has(key), "JSON lacks " + key);
        }
        for (String key : List.of("architecture", "n_layer", "n_embd", "n_vocab", "file_type", "backend")) {
            assertTrue(json.getAsJsonObject("model").has(key), "model lacks " + key);
        }
        JsonObject layer = json.getAsJsonArray("layers").get(5).getAsJsonObject();
        for (String key : List.of("layer", "entropy_nats", "entropy_bits", "top", "expected", "kl_to_final_bits", "cos_to_final")) {
            assertTrue(layer.has(key), "layer lacks " + key);
        }
        assertEquals(" Lily", layer.getAsJsonArray("top").get(0).getAsJsonObject().get("token").getAsString());
        JsonObject expected = layer.getAsJsonArray("expected").get(0).getAsJsonObject();
        assertEquals(List.of("text", "id", "token", "rank", "p", "answer_logprob", "answer_worst_rank"), List.copyOf(expected.keySet()));
        assertTrue(expected.get("answer_logprob").isJsonNull(), "first-token mode has no whole-answer view");
        JsonObject kv = json.getAsJsonObject("kv_cache");
        assertEquals("f32", kv.get("type").getAsString());
        assertEquals("off", kv.get("flash_attn").getAsString());
        assertTrue(kv.get("exact").getAsBoolean());
        JsonObject lily = json.getAsJsonArray("answers").get(0).getAsJsonObject();
        assertEquals(1, lily.getAsJsonArray("tokens").size(), "' Lily' is one token");
        assertFalse(lily.get("multi_token").getAsBoolean());
        for (String key : List.of("kl_bits", "max_abs_logit_diff", "top1_agree", "activation_rounding", "expected_kl_bits",
                "unexplained_kl_bits", "warning_bits")) {
            assertTrue(json.getAsJsonObject("consistency").has(key), "consistency lacks " + key);
        }
        assertEquals(14, json.getAsJsonArray("positions").size(), "--out implies every position");
        assertEquals(14, json.getAsJsonArray("tokens").size());
        assertTrue(json.getAsJsonObject("final").has("entropy_bits"));
        List<String> records = Files.readAllLines(out.resolve("stories260K-records.csv"));
        assertEquals(1 + 14 * 6, records.size(), "one row per layer and position");
        assertEquals(1 + 6, Files.readAllLines(out.resolve("stories260K-pure-next-token.csv")).size());
    }

    @Test
    void seedExperimentRunsWithoutAPrompt() {
        CliRun r = run("probe", "-m", stories260K().toString(), "--top-k", "3");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("Prompt: 'Question: What is the capital of Germany? Answer:'"), r.out());
        assertTrue(r.out().contains("Tracking 'Berlin' as token"), r.out());
        assertTrue(r.out().contains("'Germany\\'s capital is'"), r.out());
        assertTrue(r.out().contains("'Berlin is the capital of'"), r.out());
        assertTrue(r.out().contains("T = 0.1:") && r.out().contains("T = 2.0:"), r.out());
        assertTrue(r.out().contains("Model stats: llama, 292,800 parameters"), r.out());
    }

    @Test
    void multiTokenAnswersAreSaidAndScoredWholeInSequenceMode(@TempDir Path dir) throws IOException {
        CliRun first = run("probe", "-m", stories260K().toString(), "--expect", "Berlin", "--top-k", "3");
        assertEquals(0, first.exit(), first.err());
        assertTrue(first.out().contains("'Berlin' is 4 tokens: ' B' 'er' 'l' 'in'; only the first is tracked"), first.out());
        assertTrue(first.out().contains("['Berlin' (4 tokens, first tracked): rank"), "extra prompts say it too: " + first.out());

        CliRun seq = run("probe", "-m", stories260K().toString(), "--expect", "Berlin", "--answer-mode", "sequence",
                "--out", dir.toString(), "-q");
        assertEquals(0, seq.exit(), seq.err());
        JsonObject json = JsonParser.parseString(Files.readString(dir.resolve("stories260K.json"))).getAsJsonObject();
        JsonObject answer = json.getAsJsonArray("answers").get(0).getAsJsonObject();
        assertTrue(answer.get("multi_token").getAsBoolean());
        assertEquals("sequence", answer.get("mode").getAsString());
        assertEquals(4, answer.getAsJsonArray("tokens").size());
        for (var layer : json.getAsJsonArray("layers")) {
            JsonObject e = layer.getAsJsonObject().getAsJsonArray("expected").get(0).getAsJsonObject();
            double logProb = e.get("answer_logprob").getAsDouble();
            assertTrue(logProb < Math.log(e.get("p").getAsDouble()), "the whole answer is less likely than its first token");
            assertTrue(e.get("answer_worst_rank").getAsInt() >= e.get("rank").getAsInt());
        }
        List<String> pure = Files.readAllLines(dir.resolve("stories260K-pure-next-token.csv"));
        assertTrue(pure.getFirst().endsWith("expected0_answer_tokens,expected0_text,expected0_id,expected0_token,expected0_rank,"
                + "expected0_p,expected0_answer_logprob,expected0_answer_worst_rank,site"), pure.getFirst());
        assertTrue(Files.readString(dir.resolve("stories260K.html")).contains("is 4 tokens"));
    }

    @Test
    void timingsArePrinted() {
        CliRun r = run("probe", "-m", stories260K().toString(), "-p", STORY, "--timings");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().matches("(?s).*Timings: model load [0-9.]+ ms, forward [0-9.]+ ms, lens [0-9.]+ ms \\(bare output-weight product for the same vectors: [0-9.]+ ms\\), report [0-9.]+ ms, peak RSS [0-9.]+ MiB.*"), r.out());
    }

    @Test
    void otherPromptsForwardPassesAreTimedApartFromTheReport() {
        // The seed experiment's three paraphrases are forward passes of their own: llama.cpp's time, not the report's.
        CliRun r = run("probe", "-m", stories260K().toString(), "--timings", "--repack", "on");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().matches("(?s).*Timings: model load [0-9.]+ ms, forward [0-9.]+ ms \\(\\+ [0-9.]+ ms for the other prompts and answers\\), lens .*"), r.out());
    }

    @Test
    void repeatedModelsRunOneAfterAnotherWithTheirOwnOutputs(@TempDir Path dir) throws IOException {
        CliRun r = run("probe", "-m", stories260K().toString(), "-m", stories260K().toString(), "-p", STORY, "--out", dir.toString());
        assertEquals(0, r.exit(), r.err());
        assertEquals(2, r.out().split("=== gguf-lens probe: ").length - 1);
        assertTrue(Files.isRegularFile(dir.resolve("stories260K.json")));
        assertTrue(Files.isRegularFile(dir.resolve("stories260K-2.json")));
    }

    @Test
    void promptSetRunsEveryPrompt(@TempDir Path dir) throws IOException {
        Path prompts = dir.resolve("prompts.jsonl");
        Files.writeString(prompts, "{\"prompt\": \"" + STORY + "\", \"expected\": \"Lily\"}\n\n{\"prompt\": \"Once upon a time\"}\n");
        CliRun r = run("probe", "-m", stories260K().toString(), "--prompts", prompts.toString(), "--out", dir.resolve("o").toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(Files.isRegularFile(dir.resolve("o/stories260K-p001.json")));
        assertTrue(Files.isRegularFile(dir.resolve("o/stories260K-p002.json")));
    }

    @Test
    void badInputGivesOneLineAndTheRightExitCode(@TempDir Path dir) throws IOException {
        String model = stories260K().toString();
        Path notGguf = Files.writeString(dir.resolve("notes.gguf"), "this is not a model");
        Path regularFile = Files.writeString(dir.resolve("file"), "x");
        Path out = dir.resolve("out");
        Files.createDirectories(out);
        Path brokenPrompts = Files.writeString(dir.resolve("bad.jsonl"), "{\"no_prompt\": 1}\n");
        String longPrompt = STORY.repeat(20);
        record Case(int exit, String message, String... args) {}
        List<Case> cases = List.of(
                new Case(1, "no such file", "probe", "-m", dir.resolve("missing.gguf").toString(), "-p", STORY, "--out", out.toString()),
                new Case(1, "not a GGUF file", "probe", "-m", notGguf.toString(), "-p", STORY, "--out", out.toString()),
                new Case(2, "prompt (-p) is empty", "probe", "-m", model, "-p", "", "--out", out.toString()),
                new Case(2, "--expect ' ' is empty", "probe", "-m", model, "-p", STORY, "--expect", " ", "--out", out.toString()),
                new Case(2, "unknown lens 'logit'", "probe", "-m", model, "-p", STORY, "--lens", "logit"),
                new Case(2, "--top-k 0 must be at least 1", "probe", "-m", model, "-p", STORY, "--top-k", "0"),
                new Case(2, "--top-k -3 must be at least 1", "probe", "-m", model, "-p", STORY, "--top-k=-3"),
                new Case(2, "is too small: the prompt has", "probe", "-m", model, "-p", longPrompt, "-c", "64", "--out", out.toString()),
                new Case(2, "-t 0 must be at least 1", "probe", "-m", model, "-p", STORY, "-t", "0"),
                new Case(2, "-c 0 must be at least 1", "probe", "-m", model, "-p", STORY, "-c", "0"),
                new Case(2, "line 1: not a prompt record", "probe", "-m", model, "--prompts", brokenPrompts.toString()),
                new Case(2, "needs flash attention", "probe", "-m", model, "-p", STORY, "--kv-type", "q8_0", "--flash-attn", "off"),
                new Case(2, "unknown KV cache type 'q4_0'", "probe", "-m", model, "-p", STORY, "--kv-type", "q4_0"),
                new Case(2, "unknown --flash-attn 'yes'", "probe", "-m", model, "-p", STORY, "--flash-attn", "yes"),
                new Case(2, "unknown --answer-mode 'all'", "probe", "-m", model, "-p", STORY, "--answer-mode", "all"),
                new Case(2, "'maybe' is neither on nor off", "probe", "-m", model, "-p", STORY, "--repack", "maybe"),
                new Case(1, "not a writable directory", "probe", "-m", model, "-p", STORY, "--out", regularFile.resolve("sub").toString()));
        for (Case c : cases) {
            CliRun r = run(c.args());
            String what = String.join(" ", c.args());
            assertEquals(c.exit(), r.exit(), what + " -> " + r.err());
            String firstLine = r.err().lines().filter(l -> !l.startsWith("gguf-lens: note: ")).findFirst().orElse("");
            assertTrue(firstLine.startsWith("gguf-lens: ") && firstLine.contains(c.message()), what + " -> " + r.err());
            assertTrue(r.err().lines().filter(l -> !l.startsWith("gguf-lens: note: ")).count() <= 2, "one line (plus a --help hint for parse errors): " + r.err());
            assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
            try (Stream<Path> left = Files.list(out)) {
                assertEquals(List.of(), left.toList(), what + " left files in --out");
            }
        }
    }
}
