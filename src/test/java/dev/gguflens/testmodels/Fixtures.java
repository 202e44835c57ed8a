package dev.gguflens.testmodels;

import dev.gguflens.llama.LlamaBackend;
import dev.gguflens.llama.LlamaException;
import org.junit.jupiter.api.Assumptions;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * The one home of the tests' inputs: the checkout, the bundled stories260K model, the pinned llama.cpp tree, the
 * native library and chromium, and the rule for an input that is missing (a test fails under CI=true and skips elsewhere).
 */
public final class Fixtures {
    private Fixtures() {
    }

    /** The checkout's root: Maven passes it as gguflens.project.dir; an IDE run from the root works without. */
    public static Path projectDir() {
        return Path.of(System.getProperty("gguflens.project.dir", ".")).toAbsolutePath().normalize();
    }

    /** models/stories260K.gguf, which ships with the repository: missing means a broken checkout, so it fails. */
    public static Path stories260K() {
        Path p = projectDir().resolve("models/stories260K.gguf");
        if (!Files.isRegularFile(p)) fail("the bundled test model is missing: " + p + " (see models/README.md)");
        return p;
    }

    /**
     * The llama.cpp source tree the build used (gguf-py, vocab files, tokenizer vectors), found as
     * scripts/fetch-llama-cpp.sh finds it: -Dgguflens.llama.dir, $LLAMA_CPP_DIR, else the pinned clone in
     * ${GGUF_LENS_CACHE:-~/.cache/gguf-lens}.
     */
    public static Path llamaCppDir() {
        String dir = System.getProperty("gguflens.llama.dir");
        if (dir == null || dir.isBlank()) dir = System.getenv("LLAMA_CPP_DIR");
        if (dir == null || dir.isBlank()) {
            String cache = System.getenv("GGUF_LENS_CACHE");
            if (cache == null || cache.isBlank()) cache = System.getProperty("user.home") + "/.cache/gguf-lens";
            dir = cache + "/llama.cpp-v0.5.0";
        }
        Path p = Path.of(dir);
        if (!Files.isDirectory(p.resolve("gguf-py/gguf")) || !Files.isDirectory(p.resolve("models"))) {
            requireOrSkip("llama.cpp tree (gguf-py, models/) not found under " + p);
        }
        return p;
    }

    /** The native library must be loadable (built by Maven, or -Dgguflens.native.path). */
    public static void requireNative() {
        try {
            LlamaBackend.init();
        } catch (LlamaException e) {
            requireOrSkip("native library unavailable: " + e.getMessage());
        }
    }

    /** Headless Chromium for the HTML report tests: /usr/bin/chromium, else chromium or chromium-browser on PATH. */
    public static Path chromium() {
        List<Path> candidates = new ArrayList<>(List.of(Path.of("/usr/bin/chromium")));
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (!dir.isEmpty()) for (String name : List.of("chromium", "chromium-browser")) candidates.add(Path.of(dir, name));
        }
        for (Path candidate : candidates) if (Files.isExecutable(candidate)) return candidate;
        requireOrSkip("chromium not found (/usr/bin/chromium or on PATH); install with: apt-get install -y -qq chromium");
        return null;
    }

    /** A missing input or tool: fails under CI=true (CI must run everything), skips the test elsewhere. */
    public static void requireOrSkip(String message) {
        if ("true".equals(System.getenv("CI"))) fail(message);
        Assumptions.abort(message);
    }
}
