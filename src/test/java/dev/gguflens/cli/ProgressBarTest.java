package dev.gguflens.cli;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ProgressBarTest {

    private static final long MS = 1_000_000L;

    @AfterEach
    void unforce() {
        ProgressBar.forceEnabled = false;
    }

    @Test
    void printsNothingWhenOutputIsNotATerminal() {
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        PrintStream err = new PrintStream(captured, true, StandardCharsets.UTF_8);
        // Surefire's forked JVM has no terminal, so the bar must stay silent.
        ProgressBar bar = ProgressBar.start("tensors", 100, err);
        for (int i = 0; i <= 100; i++) bar.update(i);
        bar.finish();
        assertFalse(bar.enabled());
        assertEquals(0, captured.size(), captured.toString(StandardCharsets.UTF_8));
    }

    @Test
    void quietWinsEvenWhenForced() {
        ProgressBar.forceEnabled = true;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        ProgressBar bar = ProgressBar.start("x", 10, ProgressBar.Unit.COUNT, new PrintStream(captured), true);
        bar.update(5);
        bar.finish();
        assertEquals(0, captured.size());
    }

    @Test
    void forcedBarIsWellFormed() {
        ProgressBar.forceEnabled = true;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        ProgressBar bar = ProgressBar.start("prompts", 4, new PrintStream(captured, true, StandardCharsets.UTF_8));
        assertTrue(bar.enabled());
        bar.update(2);
        bar.update(4); // within 0.1 s of the first drawing: skipped, but finish() must show it
        bar.finish();
        String text = captured.toString(StandardCharsets.UTF_8);
        assertTrue(text.startsWith("\rprompts ["), text);
        assertTrue(text.endsWith(System.lineSeparator()), text);
        String last = text.substring(text.lastIndexOf('\r') + 1).strip();
        assertTrue(Pattern.matches("prompts \\[#{10,40}\\] 100% {2}4/4( {2}[0-9.]+/s)?", last), last);
        assertEquals(2, text.chars().filter(c -> c == '\r').count(), "first update and finish draw; the second update is throttled");
    }

    @Test
    void bytesSpeedAndEtaFromAControlledClock() {
        AtomicLong now = new AtomicLong();
        StringWriter out = new StringWriter();
        long total = 4L << 30; // 4 GiB
        ProgressBar bar = new ProgressBar("Qwen3-8B-Q4_K_M.gguf", total, ProgressBar.Unit.BYTES, new PrintWriter(out), true, now::get, 100)
                .resumeAt(1L << 30);
        now.set(10_000 * MS); // 10 s later, 1 GiB more: 100 MiB/s (baseline excludes the resumed GiB)
        bar.update(2L << 30);
        String line = bar.render(now.get());
        // Half the bar filled, and the whole line fits a 100-column terminal without wrapping.
        assertEquals("Qwen3-8B-Q4_K_M.gguf [" + "#".repeat(16) + "-".repeat(16) + "]  50%  2.0/4.0 GiB  102.4 MiB/s  ETA 20s", line);
        // The widest line this bar can draw still fits a 100-column terminal without wrapping.
        now.set(10 * MS);
        bar.update(total - 1);
        String widest = bar.render(now.get()).replaceAll("\\d+\\.\\d MiB/s", "1023.9 MiB/s").replaceAll("ETA \\S+", "ETA 99h59m");
        assertTrue(widest.length() <= 99, widest.length() + ": " + widest);
        assertTrue(out.toString().startsWith("\rQwen3-8B-Q4_K_M.gguf ["), out.toString());
    }

    @Test
    void redrawsAtMostTenTimesASecond() {
        AtomicLong now = new AtomicLong();
        StringWriter out = new StringWriter();
        ProgressBar bar = new ProgressBar("n", 1000, ProgressBar.Unit.COUNT, new PrintWriter(out), true, now::get, 80);
        for (int i = 1; i <= 1000; i++) { // 1000 updates over one simulated second
            now.addAndGet(MS);
            bar.update(i);
        }
        long draws = out.toString().chars().filter(c -> c == '\r').count();
        assertTrue(draws >= 9 && draws <= 11, "draws: " + draws);
        bar.finish();
        bar.update(3); // ignored after finish
        assertTrue(out.toString().endsWith(System.lineSeparator()));
    }

    @Test
    void unknownTotalShowsAmountOnly() {
        AtomicLong now = new AtomicLong();
        ProgressBar bar = new ProgressBar("dl", -1, ProgressBar.Unit.BYTES, new PrintWriter(new StringWriter()), true, now::get, 80);
        bar.update(3 * 1024 * 1024);
        now.set(1000 * MS);
        assertEquals("dl  3.0 MiB  3.0 MiB/s", bar.render(now.get()));
        assertEquals("1h01m", ProgressBar.duration(3660));
        assertEquals("2m05s", ProgressBar.duration(125));
        assertEquals("512 B", ProgressBar.bytes(512));
    }
}
