package dev.gguflens.gguf;

import org.junit.jupiter.api.Assumptions;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.fail;

/** Locates shared test inputs: the stories260K model and the pinned llama.cpp tree. */
public final class TestModels {
    private TestModels() {
    }

    /** stories260K.gguf; fails under CI=true when absent, otherwise skips the test. */
    public static Path stories260K() {
        String dir = System.getProperty("gguflens.project.dir", ".");
        Path p = Path.of(dir).resolve("../shared/models/stories260K.gguf").normalize();
        if (!Files.isRegularFile(p)) requireOrSkip("test model not found: " + p);
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

    static void requireOrSkip(String message) {
        if ("true".equals(System.getenv("CI"))) fail(message);
        Assumptions.abort(message);
    }
}
