package dev.gguflens.gguf;

import java.nio.file.Path;

/**
 * The one error a malformed or unsupported GGUF produces. Its message is a single line naming
 * the file, the byte offset (when one applies) and the field at fault.
 */
public class GgufException extends RuntimeException {
    private final Path file;
    private final long offset;

    public GgufException(Path file, long offset, String what) {
        super(format(file, offset, what));
        this.file = file;
        this.offset = offset;
    }

    public GgufException(Path file, String what) {
        this(file, -1, what);
    }

    public GgufException(Path file, long offset, String what, Throwable cause) {
        super(format(file, offset, what), cause);
        this.file = file;
        this.offset = offset;
    }

    private static String format(Path file, long offset, String what) {
        String where = file == null ? "<gguf>" : file.toString();
        String at = offset >= 0 ? " at offset " + offset : "";
        return UntrustedText.oneLine(where + at + ": " + what);
    }

    public Path file() {
        return file;
    }

    /** Byte offset in the file where the problem was found, or -1 when it is not tied to one place. */
    public long offset() {
        return offset;
    }
}
