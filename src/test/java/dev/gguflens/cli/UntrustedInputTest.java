package dev.gguflens.cli;

import dev.gguflens.gguf.GgmlType;
import dev.gguflens.gguf.GgufFile;
import dev.gguflens.gguf.GgufTensor;
import dev.gguflens.gguf.GgufValue;
import dev.gguflens.gguf.GgufWriter;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import static dev.gguflens.testmodels.Fixtures.requireNative;
import static dev.gguflens.testmodels.Fixtures.stories260K;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 12 in the small: the exact one-line messages for files llama.cpp would abort on, special files, sizes
 * a user gives beyond their limits, and text from files that must not reach a terminal raw.
 */
class UntrustedInputTest {
    static final String STORY = "Once upon a time";

    @TempDir
    Path dir;

    @BeforeAll
    static void nativeLibrary() {
        requireNative();
    }

    /** stories260K with a mutation of its metadata or tensors, written with the project's writer. */
    private Path variant(String name, Consumer<GgufWriter> metadata, String retypeTensor, GgmlType newType) throws IOException {
        Path out = dir.resolve(name + ".gguf");
        try (GgufFile src = GgufFile.open(stories260K())) {
            GgufWriter w = new GgufWriter().copyMetadata(src, k -> true);
            metadata.accept(w);
            for (GgufTensor t : src.tensors()) {
                if (t.name().equals(retypeTensor)) {
                    byte[] bytes = new byte[Math.toIntExact(newType.rowBytes(t.shape()[0]) * t.rowCount())];
                    w.addTensor(t.name(), newType, t.shape(), bytes);
                } else {
                    w.addTensor(t.name(), t.type(), t.shape(), t.data());
                }
            }
            w.write(out);
        }
        return out;
    }

    private static void assertOneLine(CliRun r, int exit, String... fragments) {
        assertEquals(exit, r.exit(), r.err());
        List<String> lines = r.err().lines().toList();
        assertEquals(1, lines.size(), r.err());
        assertTrue(lines.getFirst().startsWith("gguf-lens: "), r.err());
        for (String f : fragments) assertTrue(lines.getFirst().contains(f), "'" + f + "' in " + r.err());
        assertFalse(r.err().chars().anyMatch(c -> c == 0x1b || c == 0x07), "no raw ESC/BEL: " + r.err());
    }

    @Test
    void filesLlamaCppWouldAbortOnAreRefusedNamingFileFieldAndValue() throws IOException {
        List<String> tokens = new ArrayList<>();
        try (GgufFile src = GgufFile.open(stories260K())) {
            tokens.addAll(src.vocabulary().tokens());
        }
        tokens.set(300, tokens.get(200));
        record Case(Path file, String... fragments) {}
        List<Case> cases = List.of(
                new Case(variant("blocks0", w -> w.putUInt32("llama.block_count", 0), null, null), "blocks0.gguf", "llama.block_count = 0", "1..512"),
                new Case(variant("blocks513", w -> w.putUInt32("llama.block_count", 513), null, null), "llama.block_count = 513"),
                new Case(variant("bert", w -> w.putString("tokenizer.ggml.model", "bert"), null, null), "tokenizer.ggml.model = 'bert'", "'llama'"),
                new Case(variant("dup", w -> w.putStringArray("tokenizer.ggml.tokens", tokens), null, null), "tokenizer.ggml.tokens[300]", "repeats token 200"),
                new Case(variant("experts", w -> w.putUInt32("llama.expert_count", 1L << 31), null, null), "llama.expert_count = 2147483648", "LLAMA_MAX_EXPERTS"),
                new Case(variant("f16norm", w -> {}, "output_norm.weight", GgmlType.F16), "'output_norm.weight' is F16", "must be F32"),
                new Case(variant("q8norm", w -> {}, "blk.0.attn_norm.weight", GgmlType.Q8_0), "'blk.0.attn_norm.weight' is Q8_0"),
                new Case(variant("kv3", w -> w.putUInt32("llama.attention.head_count_kv", 3), null, null), "head_count_kv = 3", "does not divide"),
                new Case(variant("rope", w -> w.putString("llama.rope.scaling.type", "dynamic"), null, null), "rope.scaling.type = 'dynamic'"),
                new Case(variant("bos", w -> {
                    w.putUInt32("tokenizer.ggml.bos_token_id", 4096);
                }, null, null), "bos_token_id = 4096", "outside the vocabulary of 512"));
        for (Case c : cases) {
            assertOneLine(CliRun.of("probe", "-m", c.file().toString(), "-p", STORY, "-q"), 1, c.fragments());
        }
        // quantize checks the hyperparameters too: block_count 0 used to abort it inside llama.cpp
        Path out = dir.resolve("q.gguf");
        assertOneLine(CliRun.of("quantize", cases.getFirst().file().toString(), out.toString(), "Q8_0", "-q"), 1, "llama.block_count = 0");
        assertFalse(Files.exists(out));
        assertOneLine(CliRun.of("quantize", Files.writeString(dir.resolve("text.gguf"), "hello").toString(), out.toString(), "Q8_0", "-q"),
                1, "text.gguf", "not a GGUF file");
    }

    @Test
    void specialFilesGetTheirOwnErrorWithoutBlocking() throws Exception {
        Path fifo = dir.resolve("pipe.gguf");
        Process mk = new ProcessBuilder("mkfifo", fifo.toString()).start();
        assertTrue(mk.waitFor(10, TimeUnit.SECONDS) && mk.exitValue() == 0, "mkfifo");
        Path folder = Files.createDirectories(dir.resolve("folder.gguf"));
        Path device = Path.of("/dev/null");
        String model = stories260K().toString();
        assertTimeoutPreemptively(java.time.Duration.ofSeconds(60), () -> {
            for (Path p : List.of(fifo, folder, device)) {
                String kind = p == fifo ? "FIFO" : p == folder ? "directory" : "character device";
                assertOneLine(CliRun.of("info", p.toString()), 1, p.toString(), kind);
                assertOneLine(CliRun.of("probe", "-m", p.toString(), "-p", STORY, "-q"), 1, p.toString(), kind);
                assertOneLine(CliRun.of("probe", "-m", model, "--prompts", p.toString(), "-q"), 1, p.toString(), kind);
                assertOneLine(CliRun.of("quantize", p.toString(), dir.resolve("o.gguf").toString(), "Q8_0", "-q"), 1, p.toString(), kind);
                assertOneLine(CliRun.of("quantize", model, dir.resolve("o.gguf").toString(), "Q8_0", "--imatrix", p.toString(), "-q"), 1, p.toString(), kind);
                assertOneLine(CliRun.of("compare", "-m", model, "-m", p.toString(), "-p", STORY, "-q"), 1, p.toString(), kind);
            }
        });
    }

    @Test
    void sizesBeyondTheirLimitsAreUsageErrorsNamingTheLimit() {
        String model = stories260K().toString();
        assertOneLine(CliRun.of("probe", "-m", model, "-p", STORY, "--top-k", "1000000000", "-q"), 2, "--top-k 1000000000", "vocabulary of 512");
        assertOneLine(CliRun.of("probe", "-m", model, "-p", STORY, "-c", "2000000000", "-q"), 2, "-c 2000000000");
        assertOneLine(CliRun.of("probe", "-m", model, "-p", STORY, "-c", "4096", "-q"), 2, "-c 4096", "trained on", "forcing the context");
        assertOneLine(CliRun.of("probe", "-m", model, "-p", STORY, "-t", "100000", "-q"), 2, "-t 100000", "at most 512");
        CliRun forced = CliRun.of("probe", "-m", model, "-p", STORY, "-c", "1024", "--force-context", "-q");
        assertEquals(0, forced.exit(), forced.err());
        CliRun small = CliRun.of("probe", "-m", model, "-p", STORY, "-c", "16");
        assertEquals(0, small.exit(), small.err());
        assertTrue(small.err().contains("gguf-lens: note: context size 16 became 256"), small.err());
    }

    @Test
    void textFromFilesIsEscapedAndShortened() throws IOException {
        String esc = "\u001b[2J\u001b]0;pwned\u0007";
        Path hostile = variant("hostile", w -> {
            w.put("general." + esc, GgufValue.ofString(esc + "x".repeat(10_000)));
        }, null, null);
        CliRun info = CliRun.of("info", hostile.toString(), "--tensors");
        assertEquals(0, info.exit(), info.err());
        assertFalse(info.out().chars().anyMatch(c -> c == 0x1b || c == 0x07), "info prints no raw ESC/BEL");
        assertTrue(info.out().contains("general.\\x1b[2J\\x1b]0;pwned\\x07"), info.out());
        assertTrue(info.out().lines().allMatch(l -> l.length() < 400), "long strings are shortened");

        Path longName = dir.resolve("longname.gguf");
        try (GgufFile src = GgufFile.open(stories260K())) {
            GgufWriter w = new GgufWriter().copyMetadata(src, k -> true);
            for (GgufTensor t : src.tensors()) {
                String name = t.name().equals("output_norm.weight") ? esc + "t".repeat(1_000_000) : t.name();
                w.addTensor(name, t.type(), t.shape(), t.data());
            }
            w.write(longName);
        }
        CliRun probe = CliRun.of("probe", "-m", longName.toString(), "-p", STORY, "-q");
        assertOneLine(probe, 1, "output_norm.weight");
        assertTrue(probe.err().length() < 2500, "message of " + probe.err().length() + " characters");
    }

    @Test
    void promptFileThatIsNotUtf8IsNamedWithLine() throws IOException {
        Path prompts = dir.resolve("p.jsonl");
        byte[] bad = "{\"prompt\": \"ok\"}\n{\"prompt\": \"caf\u00e9\"}\n".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        Files.write(prompts, bad);
        assertOneLine(CliRun.of("probe", "-m", stories260K().toString(), "--prompts", prompts.toString(), "-q"), 2,
                "p.jsonl line 2", "not UTF-8", "0xe9 at column 16");
    }
}
