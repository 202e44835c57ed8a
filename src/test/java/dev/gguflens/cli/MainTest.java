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

    @Test
    void completionScriptCoversEveryCommandAndOption() {
        StringWriter out = new StringWriter();
        CommandLine cli = Main.newCommandLine();
        cli.setOut(new PrintWriter(out));
        assertEquals(0, cli.execute("completion"));
        String script = out.toString();
        assertTrue(script.contains("complete -F _complete_gguf-lens"), script.substring(0, Math.min(400, script.length())));
        for (String word : new String[] {"probe", "info", "pull", "--top-k", "--lens", "--positions", "--html"}) {
            assertTrue(script.contains(word), "completion lacks " + word);
        }
    }

    @Test
    void everyCommandHelpHasExamplesAndExitCodes() {
        for (String command : new String[] {"probe", "info", "pull"}) {
            StringWriter out = new StringWriter();
            CommandLine cli = Main.newCommandLine();
            cli.setOut(new PrintWriter(out));
            assertEquals(0, cli.execute(command, "--help"));
            assertTrue(out.toString().contains("Examples:"), command + " --help has no examples:\n" + out);
            assertTrue(out.toString().contains("Exit codes:"), command + " --help has no exit codes:\n" + out);
        }
    }
}
