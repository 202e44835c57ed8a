package dev.gguflens.cli;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Runs a range of {@link MalformedCorpus} cases in this JVM through the CLI entry point (without System.exit
 * per case), each through probe and quantize, and prints one line per case:
 * {@code CASE <i> <category> <probe exit> <quantize exit> <ms> OK|BAD <why>}, preceded by {@code START <i>} so
 * that a parent can name the case a JVM abort happened on. Arguments: stories260K, work dir, from, to.
 */
public final class MalformedCorpusChild {
    private MalformedCorpusChild() {}

    public static void main(String[] args) throws Exception {
        Path stories = Path.of(args[0]);
        Path work = Path.of(args[1]);
        int from = Integer.parseInt(args[2]), to = Integer.parseInt(args[3]);
        MalformedCorpus corpus = new MalformedCorpus(stories, work);
        Path caseDir = Files.createTempDirectory(work, "child");
        for (int i = from; i < to; i++) {
            MalformedCorpus.Case c = corpus.cases.get(i);
            System.out.println("START " + i);
            System.out.flush();
            long start = System.nanoTime();
            Path file = caseDir.resolve("case-" + i + ".gguf");
            Path quantized = caseDir.resolve("case-" + i + "-q8.gguf");
            try {
                corpus.write(i, file);
            } catch (RuntimeException e) {
                System.out.println("CASE " + i + " " + c.category() + " - - 0 OK writer refused (" + e.getClass().getSimpleName() + ")");
                continue;
            }
            Result probe = run("probe", "-m", file.toString(), "-p", "Once upon a time", "-q", "-t", "1", "--top-k", "3", "-c", "256");
            Result quantize = run("quantize", file.toString(), quantized.toString(), "Q8_0", "-q", "-t", "1");
            long ms = (System.nanoTime() - start) / 1_000_000;
            String bad = probe.problem() != null ? "probe: " + probe.problem() : quantize.problem() != null ? "quantize: " + quantize.problem() : null;
            System.out.println("CASE " + i + " " + c.category() + " " + probe.exit() + " " + quantize.exit() + " " + ms + " "
                    + (bad == null ? "OK" : "BAD " + dev.gguflens.gguf.UntrustedText.escaped(bad + " [" + c.description() + "]")));
            System.out.flush();
            Files.deleteIfExists(file);
            Files.deleteIfExists(quantized);
        }
        System.out.println("END");
        System.out.flush();
        System.exit(0);
    }

    record Result(int exit, String err) {
        /** Null when the run is a clean success or a one-line gguf-lens error; else what is wrong. */
        String problem() {
            if (exit == 0) return err.isBlank() ? null : "exit 0 but stderr: " + err;
            if (exit != 1 && exit != 2) return "exit " + exit;
            long lines = err.lines().count();
            if (lines != 1) return lines + " lines on stderr: " + err;
            if (!err.startsWith("gguf-lens: ")) return "not a gguf-lens line: " + err;
            if (err.length() > dev.gguflens.gguf.UntrustedText.MAX_MESSAGE_CHARS + 200) return "message of " + err.length() + " chars";
            for (int i = 0; i < err.length(); i++) {
                char ch = err.charAt(i);
                if (ch != '\n' && dev.gguflens.gguf.UntrustedText.needsEscape(ch)) return "raw control character " + (int) ch + " in: " + err;
            }
            return null;
        }
    }

    static Result run(String... args) {
        CliRun run = CliRun.of(args);
        return new Result(run.exit(), run.err());
    }
}
