package dev.gguflens.cli;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MainTest {
    @Test
    void versionAndHelp() {
        StringWriter out = new StringWriter();
        CommandLine cli = Main.newCommandLine();
        cli.setOut(new PrintWriter(out));
        assertEquals(0, cli.execute("--version"));
        assertTrue(out.toString().startsWith("gguf-lens "), out.toString());
        out.getBuffer().setLength(0);
        assertEquals(0, cli.execute("--help"));
        assertTrue(out.toString().contains("Usage: gguf-lens"), out.toString());
    }

    @Test
    void unknownOptionIsUsageError() {
        StringWriter err = new StringWriter();
        CommandLine cli = Main.newCommandLine();
        cli.setErr(new PrintWriter(err));
        assertEquals(Main.EXIT_USAGE, cli.execute("--no-such-flag"));
        assertTrue(err.toString().startsWith("gguf-lens: Unknown option: '--no-such-flag'"), err.toString());
    }
}
