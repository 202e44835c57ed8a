package dev.gguflens.cli;

import dev.gguflens.download.FakeHub;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PullCommandTest {

    @TempDir
    Path models;
    private FakeHub hub;
    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    @BeforeEach
    void start() throws Exception {
        hub = new FakeHub();
    }

    @AfterEach
    void stop() {
        hub.close();
    }

    private int pull(String... args) {
        CommandLine cli = Main.newCommandLine();
        cli.setOut(new PrintWriter(out));
        cli.setErr(new PrintWriter(err));
        String[] all = new String[args.length + 5];
        all[0] = "pull";
        System.arraycopy(args, 0, all, 1, args.length);
        System.arraycopy(new String[] {"--endpoint", hub.endpoint().toString(), "--models-dir", models.toString()}, 0, all, args.length + 1, 4);
        return cli.execute(all);
    }

    @Test
    void pullPrintsThePathAndSaysSoWhenAlreadyPresent() throws Exception {
        byte[] data = {1, 2, 3, 4, 5};
        hub.put("org/Small-GGUF", "small-Q8_0.gguf", data);

        assertEquals(0, pull("hf://org/Small-GGUF:q8_0"), err.toString());
        Path expected = models.resolve("org--Small-GGUF/small-Q8_0.gguf").toAbsolutePath();
        assertEquals(expected + System.lineSeparator(), out.toString());
        assertArrayEquals(data, Files.readAllBytes(expected));

        out.getBuffer().setLength(0);
        assertEquals(0, pull("org/Small-GGUF"));
        assertEquals(expected + System.lineSeparator(), out.toString());
        assertTrue(err.toString().contains("gguf-lens: small-Q8_0.gguf is already present and verified"), err.toString());

        err.getBuffer().setLength(0);
        assertEquals(0, pull("org/Small-GGUF", "--quiet"));
        assertEquals("", err.toString());
    }

    @Test
    void badReferenceIsAUsageErrorAndMissingRepoARuntimeError() {
        assertEquals(Main.EXIT_USAGE, pull("not-a-ref"));
        assertTrue(err.toString().startsWith("gguf-lens: not a Hugging Face model reference: 'not-a-ref'"), err.toString());

        err.getBuffer().setLength(0);
        assertEquals(Main.EXIT_RUNTIME, pull("org/Missing"));
        String line = err.toString();
        assertEquals(1, line.lines().count(), line);
        assertTrue(line.startsWith("gguf-lens: repository org/Missing not found on the hub (404): " + hub.endpoint()), line);
    }
}
