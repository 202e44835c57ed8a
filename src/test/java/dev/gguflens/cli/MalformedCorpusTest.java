package dev.gguflens.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static dev.gguflens.testmodels.Fixtures.requireNative;
import static dev.gguflens.testmodels.Fixtures.stories260K;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 12's corpus: every {@link MalformedCorpus} case through probe and quantize must end in a clean success
 * or one {@code gguf-lens:} line, never a JVM abort (llama.cpp's GGML_ASSERT kills the whole process) or a
 * hang. A few child JVMs each run a batch of cases in-process ({@link MalformedCorpusChild}); a child that dies
 * names the case it was on, and the parent resumes after it so one abort does not hide the next.
 */
class MalformedCorpusTest {
    /** No case may take longer than this without a line of progress: a hang. */
    static final long CASE_TIMEOUT_SECONDS = 60;
    static final int CHILDREN = 2;

    @TempDir
    Path dir;

    record Outcome(int index, String category, String probeExit, String quantizeExit, long ms, String verdict) {}

    @Test
    void everyCaseEndsCleanlyThroughProbeAndQuantize() throws Exception {
        requireNative();
        Path stories = stories260K();
        MalformedCorpus corpus = new MalformedCorpus(stories, dir);
        int n = corpus.cases.size();
        assertTrue(n >= 2000, "corpus has " + n + " cases");
        Map<String, Integer> perCategory = corpus.countsByCategory();

        List<Outcome> outcomes = java.util.Collections.synchronizedList(new ArrayList<>());
        List<String> aborts = java.util.Collections.synchronizedList(new ArrayList<>());
        List<String> hangs = java.util.Collections.synchronizedList(new ArrayList<>());
        List<Thread> workers = new ArrayList<>();
        long started = System.nanoTime();
        for (int c = 0; c < CHILDREN; c++) {
            int from = n * c / CHILDREN, to = n * (c + 1) / CHILDREN;
            Thread t = Thread.ofPlatform().start(() -> runRange(stories, corpus, from, to, outcomes, aborts, hangs));
            workers.add(t);
        }
        for (Thread t : workers) t.join();
        double seconds = (System.nanoTime() - started) / 1e9;

        Map<String, int[]> summary = new TreeMap<>();
        long maxMs = 0;
        Outcome slowest = null;
        List<String> bad = new ArrayList<>();
        for (Outcome o : outcomes) {
            int[] s = summary.computeIfAbsent(o.category(), k -> new int[3]);
            boolean clean = o.verdict().startsWith("OK");
            boolean success = "0".equals(o.probeExit()) && "0".equals(o.quantizeExit());
            s[clean ? (success ? 0 : 1) : 2]++;
            if (!clean) bad.add("case " + o.index() + " " + o.category() + ": " + o.verdict());
            if (o.ms() > maxMs) {
                maxMs = o.ms();
                slowest = o;
            }
        }
        StringBuilder report = new StringBuilder(String.format("malformed corpus: %d cases, %d children, %.1f s, max %d ms per case (case %s)%n",
                n, CHILDREN, seconds, maxMs, slowest == null ? "-" : slowest.index() + " " + slowest.category()));
        report.append(String.format("%-18s %6s %8s %8s %5s%n", "category", "cases", "success", "refused", "bad"));
        perCategory.forEach((k, v) -> {
            int[] s = summary.getOrDefault(k, new int[3]);
            report.append(String.format("%-18s %6d %8d %8d %5d%n", k, v, s[0], s[1], s[2]));
        });
        report.append("aborts: ").append(aborts.size()).append(aborts.isEmpty() ? "" : " " + aborts).append('\n');
        report.append("hangs: ").append(hangs.size()).append(hangs.isEmpty() ? "" : " " + hangs).append('\n');
        System.out.print(report);
        Files.writeString(Path.of("target", "malformed-corpus.txt"), report);

        assertEquals(List.of(), aborts, "JVM aborts");
        assertEquals(List.of(), hangs, "hangs");
        assertEquals(List.of(), bad.subList(0, Math.min(20, bad.size())), bad.size() + " cases were not a clean success or one gguf-lens line");
        assertEquals(n, outcomes.size(), "every case reported");
    }

    /** Runs cases [from, to) in child JVMs, resuming after a case that killed its JVM. */
    private void runRange(Path stories, MalformedCorpus corpus, int from, int to, List<Outcome> outcomes, List<String> aborts, List<String> hangs) {
        int next = from;
        for (int attempt = 0; next < to && attempt < 8; attempt++) {
            try {
                next = runChild(stories, corpus, next, to, outcomes, aborts, hangs);
            } catch (IOException | InterruptedException e) {
                aborts.add("child for " + next + ".." + to + " failed to run: " + e);
                return;
            }
        }
    }

    /** Returns the index to resume from (to when the batch finished). */
    private int runChild(Path stories, MalformedCorpus corpus, int from, int to, List<Outcome> outcomes, List<String> aborts,
                         List<String> hangs) throws IOException, InterruptedException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Path errLog = dir.resolve("child-" + from + ".err");
        ProcessBuilder pb = new ProcessBuilder(java.toString(), "--add-modules", "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED", "-Xmx512m", "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"),
                MalformedCorpusChild.class.getName(), stories.toString(), dir.toString(), Integer.toString(from), Integer.toString(to));
        pb.redirectError(errLog.toFile());
        Process p = pb.start();
        BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        Thread reader = Thread.ofPlatform().daemon().start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) lines.add(line);
            } catch (IOException ignored) {
                // the child died; the exit code tells
            }
            lines.add("EOF");
        });
        int current = from;
        while (true) {
            String line = lines.poll(CASE_TIMEOUT_SECONDS, TimeUnit.SECONDS);
            if (line == null) {
                p.destroyForcibly().waitFor();
                hangs.add("case " + current + " " + corpus.cases.get(current).category() + " (" + corpus.cases.get(current).description() + ")");
                return current + 1;
            }
            if (line.startsWith("START ")) {
                current = Integer.parseInt(line.substring(6));
            } else if (line.startsWith("CASE ")) {
                String[] f = line.split(" ", 8);
                outcomes.add(new Outcome(Integer.parseInt(f[1]), f[2], f[3], f[4], Long.parseLong(f[5]), f[6] + (f.length > 7 ? " " + f[7] : "")));
                current = Integer.parseInt(f[1]) + 1;
            } else if (line.equals("END")) {
                p.waitFor();
                return to;
            } else if (line.equals("EOF")) {
                int exit = p.waitFor();
                String tail = tail(errLog);
                if (current >= to) return to;
                aborts.add("case " + current + " " + corpus.cases.get(current).category() + " (" + corpus.cases.get(current).description()
                        + "): child exit " + exit + ": " + tail);
                return current + 1;
            }
        }
    }

    private static String tail(Path log) {
        try {
            List<String> all = Files.readAllLines(log, StandardCharsets.ISO_8859_1);
            return String.join(" | ", all.subList(Math.max(0, all.size() - 3), all.size()));
        } catch (IOException e) {
            return "(no stderr)";
        }
    }
}
