package dev.gguflens.cli;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.gguflens.gguf.GgmlType;
import dev.gguflens.gguf.GgufWriter;
import dev.gguflens.testmodels.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class InfoCommandTest {
    @TempDir
    Path tmp;


    static CliRun run(String... args) {
        return CliRun.of(args);
    }

    @Test
    void textSummaryOfStories260K() {
        Path model = Fixtures.stories260K();
        CliRun r = run("info", model.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("architecture: llama\n"), r.out());
        assertTrue(r.out().contains("block count: 5\n"), r.out());
        assertTrue(r.out().contains("embedding length: 64\n"), r.out());
        assertTrue(r.out().contains("vocabulary size: 512\n"), r.out());
        assertTrue(r.out().contains("tensor count: 48\n"), r.out());
        assertTrue(r.out().matches("(?s).*F32\\s+48 tensors\\s+\\d+ bytes.*"), r.out());
        assertTrue(r.out().contains("(STRING x 512)"), "token list summarised: " + r.out());
        assertFalse(r.out().contains("tensors:\n"), "tensor list only with --tensors");

        CliRun withTensors = run("info", "--tensors", model.toString());
        assertEquals(0, withTensors.exit());
        long rows = withTensors.out().lines().filter(l -> l.matches("\\s+\\S+\\.weight\\s+F32\\s+\\[.*")).count();
        assertEquals(48, rows, withTensors.out());
        assertTrue(withTensors.out().matches("(?s).*token_embd\\.weight\\s+F32\\s+\\[64, 512\\]\\s+\\d+\\s+131072\\n.*"), withTensors.out());
    }

    @Test
    void jsonOfStories260K() {
        Path model = Fixtures.stories260K();
        CliRun r = run("info", "--json", model.toString());
        assertEquals(0, r.exit(), r.err());
        JsonObject o = JsonParser.parseString(r.out()).getAsJsonObject();
        assertEquals("llama", o.get("architecture").getAsString());
        assertEquals(5, o.getAsJsonObject("hyperparameters").get("block_count").getAsInt());
        assertEquals(64, o.getAsJsonObject("hyperparameters").get("embedding_length").getAsInt());
        assertEquals(512, o.get("vocabulary_size").getAsInt());
        assertEquals(48, o.getAsJsonArray("tensors").size());
        JsonObject tokens = o.getAsJsonObject("metadata").getAsJsonObject("tokenizer.ggml.tokens");
        assertEquals("STRING", tokens.get("type").getAsString());
        assertEquals(512, tokens.get("length").getAsInt());
        assertEquals("<unk>", tokens.getAsJsonArray("head").get(0).getAsString());
        long totalBytes = 0;
        for (var t : o.getAsJsonArray("tensors")) totalBytes += t.getAsJsonObject().get("bytes").getAsLong();
        assertEquals(totalBytes, o.getAsJsonObject("bytes_per_type").get("F32").getAsLong());
        dev.gguflens.report.ReportRenderingTest.assertSnakeCaseKeys(o, java.util.Set.of("metadata", "bytes_per_type"), "info --json");
    }

    @Test
    void jsonKeepsShortArraysWholeAndUnsignedValuesExact() throws Exception {
        Path file = tmp.resolve("small.gguf");
        List<String> sixtyFour = new ArrayList<>();
        for (int i = 0; i < 64; i++) sixtyFour.add("t" + i);
        new GgufWriter().putString("general.architecture", "toy").putUInt32("toy.block_count", 2)
                .putUInt32("toy.embedding_length", 32).putStringArray("short", sixtyFour)
                .putUInt64("big", -1L).putFloat32("eps", 1e-5f).putFloat64("nan", Double.NaN)
                .addTensor("w", GgmlType.Q8_0, new long[] {32, 2}, new byte[68])
                .write(file);
        CliRun r = run("info", "--json", file.toString());
        assertEquals(0, r.exit(), r.err());
        JsonObject meta = JsonParser.parseString(r.out()).getAsJsonObject().getAsJsonObject("metadata");
        assertEquals(64, meta.getAsJsonArray("short").size());
        assertEquals("t63", meta.getAsJsonArray("short").get(63).getAsString());
        assertEquals("18446744073709551615", meta.get("big").getAsBigInteger().toString());
        assertEquals(1e-5f, meta.get("eps").getAsFloat());
        assertEquals("NaN", meta.get("nan").getAsString());
        var t = JsonParser.parseString(r.out()).getAsJsonObject().getAsJsonArray("tensors").get(0).getAsJsonObject();
        assertEquals("Q8_0", t.get("type").getAsString());
        assertEquals(68, t.get("bytes").getAsLong());
        assertFalse(JsonParser.parseString(r.out()).getAsJsonObject().has("vocabulary_size"), "no token list in this file");
    }

    @Test
    void missingFileAndCorruptFileAreOneLineErrors() throws Exception {
        Path missing = tmp.resolve("nope.gguf");
        CliRun r = run("info", missing.toString());
        assertEquals(Main.EXIT_RUNTIME, r.exit());
        assertEquals("gguf-lens: " + missing + ": no such file\n", r.err());

        Path junk = tmp.resolve("junk.gguf");
        Files.writeString(junk, "hello world, not a model");
        r = run("info", junk.toString());
        assertEquals(Main.EXIT_RUNTIME, r.exit());
        assertEquals(1, r.err().lines().count(), r.err());
        assertTrue(r.err().startsWith("gguf-lens: " + junk + " at offset 0: not a GGUF file"), r.err());
    }

    @Test
    void fileWithoutHyperparametersIsStillDescribed() throws Exception {
        Path file = tmp.resolve("vocab-only.gguf");
        new GgufWriter().putString("general.architecture", "toy").putUInt32("toy.embedding_length", 8)
                .putStringArray("tokenizer.ggml.tokens", List.of("a", "b", "c")).write(file);
        CliRun r = run("info", file.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("hyperparameters: incomplete (missing toy.block_count)\n"), r.out());
        assertTrue(r.out().contains("vocabulary size: 3\n"), r.out());
        assertTrue(r.out().contains("tensor count: 0\n"), r.out());
        CliRun json = run("info", "--json", file.toString());
        assertEquals(0, json.exit(), json.err());
        JsonObject o = JsonParser.parseString(json.out()).getAsJsonObject();
        assertFalse(o.has("hyperparameters"));
        assertEquals(0, o.getAsJsonArray("tensors").size());
    }

    @Test
    void helpDescribesTheJsonArraySummary() {
        CliRun r = run("info", "--help");
        assertEquals(0, r.exit());
        assertTrue(r.out().contains("up to 64 elements"), r.out());
    }
}
