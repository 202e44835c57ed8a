package dev.gguflens.llama;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Process-wide llama.cpp state: loads the native library, initialises the backends and routes
 * llama.cpp's log into a ring buffer (always) and {@link System.Logger} (only when verbose).
 */
public final class LlamaBackend {
    private static final System.Logger LOG = System.getLogger("dev.gguflens.llama.native");
    private static volatile boolean initialised;
    private static volatile boolean verbose;

    private LlamaBackend() {}

    /** Idempotent; every entry point of this package calls it. */
    public static void init() {
        if (initialised) return;
        synchronized (LlamaBackend.class) {
            if (initialised) return;
            NativeLibrary.load();
            Native.init();
            Native.setVerbose(verbose);
            initialised = true;
        }
    }

    /** Forward llama.cpp's log lines to System.Logger (they are always kept in {@link #recentLog()}). */
    public static void setVerbose(boolean on) {
        verbose = on;
        if (initialised) Native.setVerbose(on);
    }

    /** The most recent llama.cpp log lines (up to 256), oldest first. */
    public static List<String> recentLog() {
        init();
        byte[][] lines = Native.recentLog();
        List<String> out = new ArrayList<>(lines.length);
        for (byte[] line : lines) out.add(new String(line, StandardCharsets.UTF_8));
        return out;
    }

    /** Called from native code for each complete log line while verbose. Levels are ggml_log_level. */
    @SuppressWarnings("unused")
    private static void onNativeLog(int level, byte[] text) {
        System.Logger.Level l = switch (level) {
            case 4 -> System.Logger.Level.ERROR;
            case 3 -> System.Logger.Level.WARNING;
            case 1 -> System.Logger.Level.DEBUG;
            default -> System.Logger.Level.INFO;
        };
        LOG.log(l, new String(text, StandardCharsets.UTF_8));
    }
}
