package dev.gguflens.gguf;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * What is wrong with a path given as an input file, found from its attributes alone: opening a FIFO for
 * reading blocks until a writer appears (info on a FIFO used to hang forever), and a directory or a device
 * is not a file either. Every command checks its inputs (-m, --prompts, --imatrix, info's and quantize's
 * argument) here before it opens them.
 */
public final class InputFiles {
    private InputFiles() {}

    /** Why {@code path} is not a readable regular file (symbolic links followed), or null when it is one. */
    public static String problem(Path path) {
        BasicFileAttributes attributes;
        try {
            attributes = Files.readAttributes(path, BasicFileAttributes.class);
        } catch (NoSuchFileException e) {
            return "no such file";
        } catch (AccessDeniedException e) {
            return "permission denied";
        } catch (IOException | SecurityException e) {
            return "cannot be read (" + e.getClass().getSimpleName() + ")";
        }
        if (attributes.isRegularFile()) return Files.isReadable(path) ? null : "permission denied";
        if (attributes.isDirectory()) return "is a directory, not a file";
        return "is " + specialKind(path) + ", not a regular file";
    }

    /** Throws a one-line {@link GgufException} naming the file when it is not a readable regular file. */
    public static void requireRegularFile(Path path) {
        String problem = problem(path);
        if (problem != null) throw new GgufException(path, problem);
    }

    private static String specialKind(Path path) {
        try {
            int mode = (Integer) Files.getAttribute(path, "unix:mode");
            return switch (mode & 0170000) {
                case 0010000 -> "a FIFO (named pipe)";
                case 0020000 -> "a character device";
                case 0060000 -> "a block device";
                case 0140000 -> "a socket";
                default -> "a special file";
            };
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException | SecurityException e) {
            return "a special file";
        }
    }
}
