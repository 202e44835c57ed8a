package dev.gguflens.experiment;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The process's peak resident set size, from /proc/self/status (VmHWM); -1 where the OS has no such file. */
public final class PeakMemory {
    private PeakMemory() {}

    public static long peakRssBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    String[] parts = line.substring(6).trim().split("\\s+");
                    return Long.parseLong(parts[0]) * 1024;
                }
            }
        } catch (IOException | RuntimeException ignored) {
            // not Linux: no cheap way to read the peak
        }
        return -1;
    }
}
