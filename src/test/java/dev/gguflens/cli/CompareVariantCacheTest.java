package dev.gguflens.cli;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static dev.gguflens.testmodels.Fixtures.requireNative;
import static dev.gguflens.testmodels.Fixtures.stories260K;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * README's compare example, {@code compare -m stories260K.gguf --quantize Q8_0 -p ... --expect Lily}, in a child
 * process with $GGUF_LENS_CACHE set: the variant lands in the cache under the base's content hash, nothing is
 * written beside the base, and a second run reuses it.
 */
@Timeout(300)
class CompareVariantCacheTest {
    static final String STORY = "Once upon a time, there was a little girl named";

    @TempDir static Path dir;

    @BeforeAll
    static void needsNative() {
        requireNative();
    }

    static ProcessResult run(Path cache, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx512m",
                "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().put("GGUF_LENS_CACHE", cache.toString());
        Process p = builder.start();
        String output = new String(p.getInputStream().readAllBytes());
        return new ProcessResult(p.waitFor(), output);
    }

    record ProcessResult(int exit, String output) {}

    @Test
    void variantsGoToTheCacheByContentNeverBesideTheBase() throws Exception {
        Path models = Files.createDirectories(dir.resolve("models"));
        Path base = Files.copy(stories260K(), models.resolve("stories260K.gguf"));
        Path cache = dir.resolve("cache");
        ProcessResult first = run(cache, "compare", "-m", base.toString(), "--quantize", "Q8_0", "-p", STORY, "--expect", "Lily", "-t", "2");
        assertEquals(0, first.exit(), first.output());
        assertTrue(first.output().contains("stories260K-Q8_0"), first.output());

        List<Path> variants;
        try (Stream<Path> files = Files.walk(cache.resolve("variants"))) {
            variants = files.filter(p -> p.getFileName().toString().endsWith(".gguf")).toList();
        }
        assertEquals(1, variants.size(), variants.toString());
        Path q8 = variants.getFirst();
        assertTrue(q8.getParent().getFileName().toString().matches("[0-9a-f]{16}"), q8.toString());
        assertEquals("stories260K-Q8_0.gguf", q8.getFileName().toString());
        try (Stream<Path> files = Files.list(models)) {
            assertEquals(List.of(base), files.toList(), "nothing beside the base");
        }

        FileTime made = Files.getLastModifiedTime(q8);
        ProcessResult second = run(cache, "compare", "-m", base.toString(), "--quantize", "q8_0", "-p", STORY, "--expect", "Lily", "-q");
        assertEquals(0, second.exit(), second.output());
        assertEquals(made, Files.getLastModifiedTime(q8), "reused, not remade");
    }
}
