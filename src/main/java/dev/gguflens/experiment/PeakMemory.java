package dev.gguflens.experiment;

import dev.gguflens.llama.LlamaBackend;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The process's peak resident set size: getrusage through the native library (Linux and macOS; ru_maxrss is
 * KiB on Linux, bytes on macOS, the shim converts), else Linux's /proc/self/status (VmHWM); -1 when neither works.
 */
public final class PeakMemory {
    private PeakMemory() {}

    public static long peakRssBytes() {
        try {
            long bytes = LlamaBackend.peakRssBytes();
            if (bytes > 0) return bytes;
        } catch (RuntimeException | LinkageError e) {
            // no native library here (a Java-only build): fall back to the proc filesystem
        }
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    String[] parts = line.substring(6).trim().split("\\s+");
                    return Long.parseLong(parts[0]) * 1024;
                }
            }
        } catch (IOException | RuntimeException ignored) {
            // neither getrusage nor /proc
        }
        return -1;
    }
}
