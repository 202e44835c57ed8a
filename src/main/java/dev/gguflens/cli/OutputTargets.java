package dev.gguflens.cli;

import dev.gguflens.report.OutputSet;

import java.nio.file.Path;

/** Output options checked before any model is loaded; the errors name the option. */
final class OutputTargets {
    private OutputTargets() {}

    /** --out DIR: created if needed, and writable. */
    static void requireDirectory(String flag, Path dir) {
        try {
            OutputSet.requireWritableDirectory(dir);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(flag + " " + e.getMessage(), e);
        }
    }

    /** --html FILE, --png FILE: the file's directory is created if needed, and writable. */
    static void requireFile(String flag, Path file) {
        try {
            OutputSet.requireWritableDirectory(OutputSet.parentOf(file));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(flag + " " + file + ": " + e.getMessage(), e);
        }
    }
}
