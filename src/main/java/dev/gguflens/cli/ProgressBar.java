package dev.gguflens.cli;

import dev.gguflens.download.DownloadListener;
import dev.gguflens.download.HubFile;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.Charset;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * A one-line progress bar on stderr, redrawn in place with '\r' at most ten times a second:
 * {@code label [#####-----]  52%  2.4/4.7 GiB  31.2 MiB/s  ETA 1m15s}, or with plain counts for non-byte work.
 *
 * <p>It prints nothing when the output is not a terminal (a pipe, a file, a test run) or when asked to be quiet, so
 * logs never fill with carriage returns. Speed is the average since {@link #start} (or {@link #resumeAt}), which is
 * steady enough for an ETA over a long download.
 */
public final class ProgressBar implements AutoCloseable {

    /** What the numbers count; bytes are shown in KiB/MiB/GiB. */
    public enum Unit { COUNT, BYTES }

    /** Tests set this to draw although surefire's output is never a terminal. */
    static volatile boolean forceEnabled;

    private static final long REDRAW_NANOS = 100_000_000L; // at most ~10 redraws a second
    private static final int MAX_LABEL = 32;

    private final String label;
    private final long total;
    private final Unit unit;
    private final PrintWriter out;
    private final boolean enabled;
    private final LongSupplier clock;
    private final long startNanos;
    private final int columns;

    private long baseline;      // units already done when timing started (a resumed download)
    private long done;
    private long lastDrawNanos;
    private boolean drawnOnce;
    private int lastLength;
    private boolean finished;

    ProgressBar(String label, long total, Unit unit, PrintWriter out, boolean enabled, LongSupplier clock, int columns) {
        this.label = shorten(label == null ? "" : label.strip());
        this.total = total;
        this.unit = unit;
        this.out = out;
        this.enabled = enabled;
        this.clock = clock;
        this.columns = Math.max(40, columns);
        this.startNanos = clock.getAsLong();
    }

    /** A bar counting items (quantised tensors, prompts); {@code total <= 0} means unknown. */
    public static ProgressBar start(String label, long total, PrintStream err) {
        return start(label, total, Unit.COUNT, err, false);
    }

    public static ProgressBar start(String label, long total, Unit unit, PrintStream err, boolean quiet) {
        return start(label, total, unit, new PrintWriter(err, false, charsetOf(err)), quiet);
    }

    public static ProgressBar start(String label, long total, Unit unit, PrintWriter err, boolean quiet) {
        return new ProgressBar(label, total, unit, err, !quiet && outputIsTerminal(), System::nanoTime, terminalColumns());
    }

    /** True when a bar started now would draw: forced by tests, or a real terminal. */
    static boolean outputIsTerminal() {
        if (forceEnabled) return true;
        var console = System.console();
        return console != null && console.isTerminal();
    }

    public boolean enabled() {
        return enabled;
    }

    /** Starts the speed clock at {@code alreadyDone} units, e.g. the bytes a resumed download already had. */
    public synchronized ProgressBar resumeAt(long alreadyDone) {
        baseline = alreadyDone;
        done = alreadyDone;
        return this;
    }

    /** Sets the amount done; draws if the last drawing is at least 0.1 s old. */
    public synchronized void update(long doneNow) {
        if (finished) return;
        done = doneNow;
        if (!enabled) return;
        long now = clock.getAsLong();
        if (drawnOnce && now - lastDrawNanos < REDRAW_NANOS) return;
        draw(now, false);
    }

    /** One more item done. */
    public synchronized void step() {
        update(done + 1);
    }

    /** Draws the final state and ends the line; later updates are ignored. */
    public synchronized void finish() {
        if (finished) return;
        finished = true;
        if (enabled) draw(clock.getAsLong(), true);
    }

    @Override
    public void close() {
        finish();
    }

    private void draw(long now, boolean last) {
        String line = render(now);
        StringBuilder text = new StringBuilder(line.length() + 8).append('\r').append(line);
        // Blank out what a longer previous line left behind.
        for (int i = line.length(); i < lastLength; i++) text.append(' ');
        if (last) text.append(System.lineSeparator());
        out.print(text);
        out.flush();
        lastLength = line.length();
        lastDrawNanos = now;
        drawnOnce = true;
    }

    /** The line without '\r'; package-private so tests can check its parts. */
    String render(long now) {
        double seconds = Math.max(1e-9, (now - startNanos) / 1e9);
        double rate = (done - baseline) / seconds;
        String amount = total > 0 ? amount(done, total) : amount(done);
        String speed = (now - startNanos) < REDRAW_NANOS / 2 ? "" : rate(rate);
        StringBuilder tail = new StringBuilder();
        if (total > 0) tail.append(String.format(Locale.ROOT, "%3d%%", percent()));
        tail.append("  ").append(amount);
        if (!speed.isEmpty()) tail.append("  ").append(speed);
        if (total > 0 && done < total && rate > 0 && !speed.isEmpty())
            tail.append("  ETA ").append(duration((total - done) / rate));
        if (total <= 0) return label + "  " + tail.toString().strip();
        int barWidth = barWidth();
        int filled = (int) Math.min(barWidth, (double) done / total * barWidth);
        return label + " [" + "#".repeat(filled) + "-".repeat(barWidth - filled) + "] " + tail;
    }

    /** Fixed for the bar's life, sized for the widest tail, so the bar does not jump as numbers grow. */
    private int barWidth() {
        String widestSpeed = unit == Unit.COUNT ? "99999.9/s" : "1023.9 MiB/s";
        int widestTail = "100%  ".length() + amount(total, total).length() + 2 + widestSpeed.length() + "  ETA 99h59m".length();
        return Math.clamp(columns - 1 - label.length() - 4 - widestTail, 10, 40);
    }

    private int percent() {
        return (int) Math.min(100, Math.max(0, Math.floor(100.0 * done / total)));
    }

    private String amount(long value, long of) {
        if (unit == Unit.COUNT) return value + "/" + of;
        String[] scaled = scaleBoth(value, of);
        return scaled[0] + "/" + scaled[1];
    }

    private String amount(long value) {
        return unit == Unit.COUNT ? Long.toString(value) : bytes(value);
    }

    private String rate(double perSecond) {
        return unit == Unit.COUNT
                ? String.format(Locale.ROOT, "%.1f/s", perSecond)
                : bytes((long) perSecond) + "/s";
    }

    /** Both values in the unit that suits the larger one: "2.4/4.7 GiB". */
    private static String[] scaleBoth(long value, long of) {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
        int u = 0;
        double scale = 1;
        while (u < units.length - 1 && of >= scale * 1024) {
            scale *= 1024;
            u++;
        }
        String fmt = u == 0 ? "%.0f" : "%.1f";
        return new String[] {String.format(Locale.ROOT, fmt, value / scale),
                String.format(Locale.ROOT, fmt, of / scale) + " " + units[u]};
    }

    static String bytes(long n) {
        return scaleBoth(n, n)[1];
    }

    static String duration(double seconds) {
        if (!Double.isFinite(seconds) || seconds > 99 * 3600) return "--";
        long s = Math.round(seconds);
        if (s < 60) return s + "s";
        if (s < 3600) return (s / 60) + "m" + String.format(Locale.ROOT, "%02d", s % 60) + "s";
        return (s / 3600) + "h" + String.format(Locale.ROOT, "%02d", (s % 3600) / 60) + "m";
    }

    private static String shorten(String label) {
        return label.length() <= MAX_LABEL ? label : label.substring(0, MAX_LABEL - 3) + "...";
    }

    private static int terminalColumns() {
        try {
            String columns = System.getenv("COLUMNS");
            if (columns != null) return Integer.parseInt(columns.strip());
        } catch (NumberFormatException e) {
            // not a number: use the classic width
        }
        return 80;
    }

    private static Charset charsetOf(PrintStream stream) {
        return stream.charset();
    }

    /**
     * A download listener that draws one byte bar per file and prints the downloader's notes (already present,
     * resuming, unreachable hub) as their own lines, prefixed {@code gguf-lens: }; {@code quiet} silences both.
     */
    public static DownloadListener downloadListener(PrintWriter err, boolean quiet) {
        return new DownloadListener() {
            private ProgressBar bar;

            @Override
            public void started(HubFile file, long resumeFrom) {
                bar = ProgressBar.start(file.fileName(), file.size(), Unit.BYTES, err, quiet).resumeAt(resumeFrom);
            }

            @Override
            public void progress(HubFile file, long bytesOnDisk) {
                if (bar != null) bar.update(bytesOnDisk);
            }

            @Override
            public void stopped(HubFile file) {
                if (bar != null) bar.finish();
                bar = null;
            }

            @Override
            public void note(String message) {
                if (quiet) return;
                err.println("gguf-lens: " + message);
                err.flush();
            }
        };
    }
}
