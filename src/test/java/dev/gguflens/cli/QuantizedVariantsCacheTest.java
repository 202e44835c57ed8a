package dev.gguflens.cli;

import dev.gguflens.gguf.GgmlType;
import dev.gguflens.gguf.GgufFile;
import dev.gguflens.testmodels.RandomModels;
import dev.gguflens.testmodels.RandomModels.Arch;
import dev.gguflens.testmodels.RandomModels.Spec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

import static dev.gguflens.testmodels.Fixtures.llamaCppDir;
import static dev.gguflens.testmodels.Fixtures.requireNative;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Where --quantize keeps its variants: by default under the cache root in a folder named by the base's content
 * hash (never beside the base), with --cache-dir in that folder; the hash is read from its memo while the base's
 * size and modification time are unchanged. With --cache-dir a variant is reused while it is newer than the base and
 * of its type, and made again otherwise.
 */
class QuantizedVariantsCacheTest {
    @TempDir Path dir;

    @Test
    void variantsLiveUnderTheContentHashNotBesideTheBase() throws Exception {
        Path root = dir.resolve("cache/variants");
        byte[] bytes = "not really a model, but bytes to hash".getBytes();
        Path base = Files.write(Files.createDirectories(dir.resolve("models")).resolve("tiny.gguf"), bytes);
        Path copy = Files.write(Files.createDirectories(dir.resolve("elsewhere")).resolve("tiny.gguf"), bytes);
        String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));

        Path q8 = QuantizedVariants.cachedPath(base, "Q8_0", null, null, root);
        assertEquals(root.resolve(sha.substring(0, 16)).resolve("tiny-Q8_0.gguf"), q8);
        assertEquals(q8.getParent().resolve("tiny-Q4_K_M.gguf"), QuantizedVariants.cachedPath(base, "Q4_K_M", null, null, root));
        assertEquals(q8, QuantizedVariants.cachedPath(copy, "Q8_0", null, null, root), "same bytes elsewhere: same variant");
        assertEquals(dir.resolve("mine/tiny-Q8_0.gguf"), QuantizedVariants.cachedPath(base, "Q8_0", dir.resolve("mine"), null, root));
        assertTrue(Files.list(dir.resolve("models")).allMatch(base::equals), "nothing written beside the base");

        Files.write(base, "other bytes, other model".getBytes());
        assertNotEquals(q8.getParent(), QuantizedVariants.cachedPath(base, "Q8_0", null, null, root).getParent());
    }

    @Test
    void theHashIsReadOnceWhileSizeAndTimeStay() throws Exception {
        Path memos = dir.resolve("hashes");
        Path file = Files.write(dir.resolve("m.gguf"), new byte[] {1, 2, 3, 4});
        FileTime time = Files.getLastModifiedTime(file);
        String first = ContentHash.of(file, memos);
        assertEquals(ContentHash.hashOf(file), first);
        // Same size, same time, other bytes: the memo answers (the documented trade-off), proving it is used.
        Files.write(file, new byte[] {9, 9, 9, 9});
        Files.setLastModifiedTime(file, time);
        assertEquals(first, ContentHash.of(file, memos));
        Files.setLastModifiedTime(file, FileTime.fromMillis(time.toMillis() + 2000));
        assertEquals(ContentHash.hashOf(file), ContentHash.of(file, memos));
        assertNotEquals(first, ContentHash.of(file, memos));
    }

    @Test
    void aVariantIsReusedWhileNewerThanTheBaseAndOfItsType() throws Exception {
        requireNative();
        Path base = RandomModels.write(Spec.small(Arch.QWEN3, 5), llamaCppDir(), dir);
        Path cache = dir.resolve("mine");
        List<String> lines = new ArrayList<>();
        Path q8 = QuantizedVariants.ensure(base, List.of("Q8_0"), cache, 2, null, lines::add).getFirst();
        assertEquals(cache.resolve(base.getFileName().toString().replace(".gguf", "-Q8_0.gguf")), q8);
        assertTrue(lines.getFirst().startsWith("quantising "), lines.getFirst());
        try (GgufFile g = GgufFile.open(q8)) {
            assertEquals(GgmlType.Q8_0, g.tensor("blk.0.ffn_gate.weight").orElseThrow().type(), "really quantised");
        }

        FileTime made = Files.getLastModifiedTime(q8);
        lines.clear();
        QuantizedVariants.ensure(base, List.of("Q8_0"), cache, 2, null, lines::add);
        assertEquals(made, Files.getLastModifiedTime(q8), "reused, not rewritten");
        assertTrue(lines.getFirst().startsWith("using cached Q8_0"), lines.getFirst());
        assertFalse(QuantizedVariants.reusable(base, q8, "Q4_K_M"), "a file of another type is not reused");

        // The base changed after the variant was made (here: the variant dated back before it).
        Files.setLastModifiedTime(q8, FileTime.fromMillis(Files.getLastModifiedTime(base).toMillis() - 10_000));
        assertFalse(QuantizedVariants.reusable(base, q8, "Q8_0"), "older than the base");
        lines.clear();
        QuantizedVariants.ensure(base, List.of("Q8_0"), cache, 2, null, lines::add);
        assertTrue(lines.getFirst().startsWith("quantising "), lines.getFirst());
        assertTrue(QuantizedVariants.reusable(base, q8, "Q8_0"), "made again, now newer than the base");
        try (var files = Files.list(cache)) {
            assertTrue(files.allMatch(q8::equals), "no temporary file left beside the variant");
        }
    }
}
