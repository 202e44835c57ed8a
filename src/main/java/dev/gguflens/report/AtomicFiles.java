package dev.gguflens.report;

import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes output files so that a reader never sees a half-written one: each file goes to a temporary
 * sibling first, and all of a run's files are renamed into place only once every one was written.
 */
public final class AtomicFiles implements AutoCloseable {

    @FunctionalInterface
    public interface Content {
        void writeTo(Writer out) throws IOException;
    }

    private final List<Path[]> staged = new ArrayList<>();
    private boolean committed;

    /** Writes {@code content} to a temporary file beside {@code target}; it appears at {@code target} on {@link #commit()}. */
    public void stage(Path target, Content content) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        Path temp = Files.createTempFile(dir, "." + target.getFileName() + ".", ".partial");
        staged.add(new Path[] {temp, target});
        makeReadable(temp);
        try (Writer out = Files.newBufferedWriter(temp, StandardCharsets.UTF_8)) {
            content.writeTo(out);
        }
    }

    /** Moves every staged file into place. */
    public void commit() throws IOException {
        for (Path[] move : staged) {
            try {
                Files.move(move[0], move[1], StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(move[0], move[1], StandardCopyOption.REPLACE_EXISTING);
            }
        }
        committed = true;
    }

    /** Without a commit, removes every temporary file: a failed run leaves nothing behind. */
    @Override
    public void close() {
        if (committed) return;
        for (Path[] move : staged) {
            try {
                Files.deleteIfExists(move[0]);
            } catch (IOException ignored) {
                // best effort: the file is hidden (leading dot) and marked .partial
            }
        }
    }

    /** Temporary files are created owner-only; a finished report should be readable like any other file. */
    private static void makeReadable(Path file) {
        try {
            Files.setPosixFilePermissions(file, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
        } catch (UnsupportedOperationException | IOException ignored) {
            // not a POSIX file system: keep the defaults
        }
    }

    /** Writes one file atomically. */
    public static void write(Path target, String text) throws IOException {
        try (AtomicFiles files = new AtomicFiles()) {
            files.stage(target, out -> out.write(text));
            files.commit();
        }
    }
}
