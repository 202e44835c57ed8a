package dev.gguflens.cli;

import dev.gguflens.experiment.Comparison;
import dev.gguflens.experiment.InvalidInputException;
import dev.gguflens.gguf.FileType;
import dev.gguflens.gguf.GgufFile;
import dev.gguflens.llama.ImportanceMatrix;
import dev.gguflens.llama.LlamaQuantizer;
import dev.gguflens.report.OutputSet;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Quantised copies of a base model made with llama.cpp's quantiser. By default they live in a cache this tool
 * owns, ${GGUF_LENS_CACHE:-~/.cache/gguf-lens}/variants/&lt;SHA-256 of the base's bytes&gt;/&lt;stem&gt;-&lt;TYPE&gt;.gguf
 * (an importance matrix adds a level keyed by its own hash), never beside the base, whose folder may be read-only
 * or shared; {@code --cache-dir} puts them in a folder of the user's choosing instead, as &lt;stem&gt;-&lt;TYPE&gt;.gguf.
 * A cached copy is reused while it carries the requested file type (in --cache-dir: and is newer than the base).
 * Each is written through {@link OutputSet} (staged, renamed into place only when complete, removed on failure or
 * interruption), so an interrupted run never leaves a truncated GGUF that a later run would take for a finished one.
 */
public final class QuantizedVariants {
    private QuantizedVariants() {}

    /** The canonical type names (Q4_K_M, ...) for the user's list; refuses unknown names and duplicates. */
    public static List<String> parseTypes(List<String> requested) {
        List<String> known = LlamaQuantizer.types();
        List<String> out = new ArrayList<>();
        for (String raw : requested) {
            String type = raw.strip().toUpperCase(Locale.ROOT);
            if (type.isEmpty()) continue;
            if (!known.contains(type)) {
                throw new InvalidInputException("quantize_types", raw, "is not a known type (valid: " + String.join(", ", known) + ")");
            }
            if (out.contains(type)) throw new InvalidInputException("quantize_types", type, "is listed twice");
            out.add(type);
        }
        if (out.isEmpty()) throw new InvalidInputException("quantize_types", String.join(",", requested), "lists no types");
        return out;
    }

    /** ${GGUF_LENS_CACHE:-~/.cache/gguf-lens}/variants: where variants go without --cache-dir. */
    public static Path defaultCacheRoot() {
        String cache = System.getenv("GGUF_LENS_CACHE");
        Path root = cache != null && !cache.isBlank() ? Path.of(cache)
                : Path.of(System.getProperty("user.home"), ".cache", "gguf-lens");
        return root.resolve("variants");
    }

    /** Where the {@code type} copy of {@code base} is cached: in {@code cacheDir} when given, else under {@link #defaultCacheRoot()}. */
    public static Path cachedPath(Path base, String type, Path cacheDir) {
        return cachedPath(base, type, cacheDir, null);
    }

    /** As {@link #cachedPath(Path, String, Path)}; a variant made with an importance matrix is named and keyed after it too. */
    public static Path cachedPath(Path base, String type, Path cacheDir, ImportanceMatrix imatrix) {
        return cachedPath(base, type, cacheDir, imatrix, defaultCacheRoot());
    }

    static Path cachedPath(Path base, String type, Path cacheDir, ImportanceMatrix imatrix, Path cacheRoot) {
        String stem = base.getFileName().toString().replaceFirst("(?i)\\.gguf$", "");
        String guide = imatrix == null ? ""
                : "-imatrix-" + imatrix.file().getFileName().toString().replaceFirst("(?i)\\.gguf$", "");
        String name = stem + "-" + type + guide + ".gguf";
        if (cacheDir != null) return cacheDir.resolve(name);
        // 16 hex digits (64 bits) of each hash name a folder: plenty to tell one user's models apart.
        Path hashes = cacheRoot.resolve("hashes");
        Path dir = cacheRoot.resolve(ContentHash.of(base, hashes).substring(0, 16));
        if (imatrix != null) dir = dir.resolve("imatrix-" + ContentHash.of(imatrix.file(), hashes).substring(0, 16));
        return dir.resolve(name);
    }

    /** Whether {@code cached} can be reused for {@code type}: a readable GGUF of that file type, newer than the base. */
    public static boolean reusable(Path base, Path cached, String type) {
        try {
            return Files.isRegularFile(cached) && Files.getLastModifiedTime(cached).compareTo(Files.getLastModifiedTime(base)) >= 0
                    && hasType(cached, type);
        } catch (IOException e) {
            return false;
        }
    }

    /** Whether {@code cached} is a readable GGUF of file type {@code type} (in the content-keyed cache that suffices). */
    static boolean hasType(Path cached, String type) {
        if (!Files.isRegularFile(cached)) return false;
        try (GgufFile file = GgufFile.open(cached)) {
            var fileType = file.hyperparameters().fileType();
            return fileType.isPresent() && FileType.name(fileType.getAsInt()).equals(type);
        } catch (RuntimeException e) {
            return false;   // unreadable or not a GGUF: make it again
        }
    }

    /**
     * The quantised copies, made where missing or stale.
     *
     * @param progress called with (types finished, types) after each type
     * @param log      receives one line per type: reused or made (may be null)
     */
    public static List<Path> ensure(Path base, List<String> types, Path cacheDir, int threads,
                                    Comparison.Progress progress, java.util.function.Consumer<String> log) {
        return ensure(base, types, cacheDir, threads, null, progress, log);
    }

    /** As above, every variant quantised under the guidance of {@code imatrix} (null for none). */
    public static List<Path> ensure(Path base, List<String> types, Path cacheDir, int threads, ImportanceMatrix imatrix,
                                    Comparison.Progress progress, java.util.function.Consumer<String> log) {
        dev.gguflens.gguf.InputFiles.requireRegularFile(base);
        List<Path> out = new ArrayList<>();
        int done = 0;
        for (String type : types) {
            Path target = cachedPath(base, type, cacheDir, imatrix);
            // In the default cache the folder is the base's (and matrix's) content, so a copy there is current.
            boolean current = cacheDir == null ? hasType(target, type)
                    : reusable(base, target, type) && (imatrix == null || reusable(imatrix.file(), target, type));
            if (current) {
                if (log != null) log.accept("using cached " + type + " variant " + target);
            } else {
                if (log != null) log.accept("quantising " + base.getFileName() + " to " + type + " -> " + target);
                quantizeAtomically(base, target, type, threads, imatrix);
            }
            out.add(target);
            if (progress != null) progress.update(++done, types.size());
        }
        return out;
    }

    /** Quantises into a hidden temporary file beside {@code target}, then renames it into place. */
    public static void quantizeAtomically(Path in, Path target, String type, int threads) {
        quantizeAtomically(in, target, type, threads, null);
    }

    /** As above, guided by an importance matrix (null for none); staged and published through {@link OutputSet}. */
    public static void quantizeAtomically(Path in, Path target, String type, int threads, ImportanceMatrix imatrix) {
        try {
            Files.createDirectories(OutputSet.parentOf(target));
            OutputSet.writeFile(target, staged -> LlamaQuantizer.quantize(in, staged, type, threads, imatrix));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + target + ": " + e.getMessage(), e);
        }
    }
}
