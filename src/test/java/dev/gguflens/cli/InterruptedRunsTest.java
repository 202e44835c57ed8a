package dev.gguflens.cli;

import com.google.gson.JsonParser;
import dev.gguflens.report.CompareOutputs;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static dev.gguflens.testmodels.Fixtures.requireNative;
import static dev.gguflens.testmodels.Fixtures.stories260K;
import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Real gguf-lens processes (java with the test classpath, on stories260K) interrupted with SIGINT and SIGTERM
 * while their outputs are staged, killed with SIGKILL, and run twice on one --out: no staged file may remain,
 * no partial set may appear, and two runs leave one run's set. The children pause after each staged file
 * ({@code gguflens.outputs.stallMillis}) so the signal lands while files are staged, not by luck of timing.
 */
@Timeout(300)
class InterruptedRunsTest {
    static final String STORY = "Once upon a time, there was a little girl named";
    static final int EXIT_SIGINT = 128 + 2;
    static final int EXIT_SIGTERM = 128 + 15;

    @BeforeAll
    static void linuxWithNative() {
        assumeTrue(System.getProperty("os.name").toLowerCase().contains("linux"), "signals are sent with kill(1)");
        requireNative();
    }

    /** A child gguf-lens run; python3 (when present) resets SIGINT to its default first, since a JVM started with
     *  SIGINT ignored (a background job of a non-interactive shell) would never see it. */
    static Process start(Path dir, long stallMillis, String... args) throws IOException {
        List<String> command = new ArrayList<>();
        if (new ProcessBuilder("python3", "-c", "").inheritIO().start().onExit().join().exitValue() == 0) {
            command.addAll(List.of("python3", "-c",
                    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])"));
        }
        command.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx512m",
                "-Dgguflens.outputs.stallMillis=" + stallMillis, "-cp", System.getProperty("java.class.path"),
                Main.class.getName()));
        command.addAll(List.of(args));
        Files.createDirectories(dir.resolve("logs"));
        return new ProcessBuilder(command).redirectOutput(dir.resolve("logs/out-" + System.nanoTime()).toFile())
                .redirectError(dir.resolve("logs/err-" + System.nanoTime()).toFile()).start();
    }

    /** Waits until a staged file appears in one of {@code dirs}; fails if the child exits first. */
    static Path awaitStaged(Process p, Path... dirs) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (System.nanoTime() < deadline) {
            for (Path d : dirs) {
                List<Path> staged = partials(d);
                if (!staged.isEmpty()) return staged.getFirst();
            }
            if (!p.isAlive()) fail("the run ended (exit " + p.exitValue() + ") before staging anything");
            Thread.sleep(10);
        }
        throw new AssertionError("nothing staged within 120 s");
    }

    static List<Path> partials(Path root) throws IOException {
        if (!Files.isDirectory(root)) return List.of();
        try (Stream<Path> files = Files.walk(root)) {
            return files.filter(f -> f.getFileName().toString().endsWith(".partial")).toList();
        } catch (UncheckedIOException e) {
            // A file the run deleted while the walk listed it (e.g. OutputSet's writability probe): the
            // callers poll or have already waited for the run to end, so report what is certain next time.
            if (e.getCause() instanceof NoSuchFileException) return partials(root);
            throw e;
        }
    }

    static void signal(Process p, String name) throws Exception {
        assertEquals(0, new ProcessBuilder("kill", "-" + name, Long.toString(p.pid())).inheritIO().start().waitFor());
    }

    static int exit(Process p) throws InterruptedException {
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the interrupted run exits");
        return p.exitValue();
    }

    static Set<String> names(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) return Set.of();
        try (Stream<Path> files = Files.list(dir)) {
            return Set.copyOf(files.map(f -> f.getFileName().toString()).toList());
        }
    }

    @Test
    void compareWithOutAndHtmlInterruptedBySigintLeavesNoTemporaryFile(@TempDir Path dir) throws Exception {
        String model = stories260K().toString();
        Path out = dir.resolve("out"), html = dir.resolve("pages/compare.html");
        Process p = start(dir, 3000, "compare", "-m", model, "-m", model, "-p", STORY, "--expect", "Lily",
                "--out", out.toString(), "--html", html.toString(), "-q");
        Path staged = awaitStaged(p, out, html.getParent());
        signal(p, "INT");
        assertEquals(EXIT_SIGINT, exit(p), "ended by the signal while " + staged.getFileName() + " was staged");
        assertEquals(List.of(), partials(dir));
        assertEquals(Set.of(), names(out), "an interrupted set is not published in part");
        assertFalse(Files.exists(html));
        for (String name : CompareOutputs.FILE_NAMES) assertFalse(Files.exists(out.resolve(name)), name);
    }

    @Test
    void compareInterruptedBySigintWhileQuantisingLeavesNoVariant(@TempDir Path dir) throws Exception {
        Path cache = dir.resolve("cache");
        Process p = start(dir, 3000, "compare", "-m", stories260K().toString(), "--quantize", "Q8_0",
                "--cache-dir", cache.toString(), "-p", STORY, "--out", dir.resolve("out").toString(), "-q");
        awaitStaged(p, cache);
        signal(p, "INT");
        assertEquals(EXIT_SIGINT, exit(p));
        assertEquals(List.of(), partials(dir));
        assertEquals(Set.of(), names(cache), "no variant a later run would take for a finished one");
    }

    @Test
    void probePromptSetInterruptedBySigtermLeavesNoTemporaryFile(@TempDir Path dir) throws Exception {
        Path prompts = Files.writeString(dir.resolve("p.jsonl"),
                "{\"prompt\": \"" + STORY + "\", \"expected\": \"Lily\"}\n{\"prompt\": \"Once upon a time\"}\n{\"prompt\": \"The cat\"}\n");
        Path out = dir.resolve("out");
        Process p = start(dir, 2000, "probe", "-m", stories260K().toString(), "--prompts", prompts.toString(),
                "--out", out.toString(), "-q");
        awaitStaged(p, out);
        signal(p, "TERM");
        assertEquals(EXIT_SIGTERM, exit(p));
        assertEquals(List.of(), partials(dir));
        assertEquals(Set.of(), names(out));
    }

    @Test
    void quantizeInterruptedBySigtermLeavesNoTemporaryFile(@TempDir Path dir) throws Exception {
        Path target = dir.resolve("q/stories260K-Q8_0.gguf");
        Files.createDirectories(target.getParent());
        Process p = start(dir, 3000, "quantize", stories260K().toString(), target.toString(), "Q8_0");
        awaitStaged(p, target.getParent());
        signal(p, "TERM");
        assertEquals(EXIT_SIGTERM, exit(p));
        assertEquals(List.of(), partials(dir));
        assertFalse(Files.exists(target));
    }

    @Test
    void makeShapedModelInterruptedBySigintLeavesNoTemporaryFile(@TempDir Path dir) throws Exception {
        // One Qwen3-8B-shaped block (~0.1 GiB) with stories260K's vocabulary: the write takes seconds, and the
        // GGUF writer stages through OutputSet rather than a hidden temporary file of its own.
        Path target = dir.resolve("shaped/one-block.gguf");
        Files.createDirectories(target.getParent());
        Process p = start(dir, 3000, "make-shaped-model", target.toString(), "--vocab", stories260K().toString(),
                "--blocks", "1", "-q");
        awaitStaged(p, target.getParent());
        signal(p, "INT");
        assertEquals(EXIT_SIGINT, exit(p));
        assertEquals(Set.of(), names(target.getParent()), "neither the model nor a temporary file is left");
    }

    @Test
    void aKilledRunsStagingIsSweptByTheNextRun(@TempDir Path dir) throws Exception {
        Path target = dir.resolve("q/stories260K-Q8_0.gguf");
        Files.createDirectories(target.getParent());
        Process p = start(dir, 3000, "quantize", stories260K().toString(), target.toString(), "Q8_0");
        awaitStaged(p, target.getParent());
        p.destroyForcibly();
        exit(p);
        List<Path> left = partials(target.getParent());
        assertEquals(1, left.size(), "SIGKILL runs no hook: the staged file stays " + left);
        assertTrue(left.getFirst().getFileName().toString().contains("." + p.pid() + "-"), left.toString());

        CliRun next = CliRun.of("quantize", stories260K().toString(), dir.resolve("q/other.gguf").toString(), "Q8_0", "-q");
        assertEquals(0, next.exit(), next.err());
        assertEquals(List.of(), partials(dir), "the next run into the folder sweeps the dead run's staging");
        assertEquals(Set.of("other.gguf"), names(target.getParent()));
    }

    /** Two probes with different --top-k write the same --out at once: every file of the set is one run's. */
    @Test
    void twoConcurrentRunsOnOneOutLeaveOneRunsSet(@TempDir Path dir) throws Exception {
        Path prompts = Files.writeString(dir.resolve("p.jsonl"),
                "{\"prompt\": \"" + STORY + "\", \"expected\": \"Lily\"}\n{\"prompt\": \"Once upon a time\"}\n");
        Path out = dir.resolve("out");
        List<Process> runs = new ArrayList<>();
        for (String k : List.of("3", "7")) {
            runs.add(start(dir, 150, "probe", "-m", stories260K().toString(), "--prompts", prompts.toString(),
                    "--out", out.toString(), "--top-k", k, "--positions", "last", "-q"));
        }
        for (Process p : runs) assertEquals(0, exit(p));
        assertEquals(List.of(), partials(dir));
        Set<Integer> topSizes = new HashSet<>();
        for (String base : List.of("stories260K-p001", "stories260K-p002")) {
            var json = JsonParser.parseString(Files.readString(out.resolve(base + ".json"))).getAsJsonObject();
            topSizes.add(json.getAsJsonArray("layers").get(0).getAsJsonObject().getAsJsonArray("top").size());
            List<String> csv = Files.readAllLines(out.resolve(base + "-pure-next-token.csv"));
            String row = csv.get(1);
            String ids = row.substring(row.indexOf("\"[") + 2, row.indexOf("]\""));
            topSizes.add(ids.split(",").length);
        }
        assertEquals(1, topSizes.size(), "the JSON and CSV files come from one run: top-k sizes " + topSizes);
    }
}
