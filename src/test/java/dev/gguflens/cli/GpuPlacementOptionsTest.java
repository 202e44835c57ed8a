package dev.gguflens.cli;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static dev.gguflens.testmodels.Fixtures.requireNative;
import static dev.gguflens.testmodels.Fixtures.stories260K;
import static org.junit.jupiter.api.Assertions.*;

/**
 * --main-gpu and --split-mode on a machine without a GPU: invalid values are usage errors, valid ones warn (as -ngl
 * does) and are stated in the report. The checks against real devices run against an rpc-server in RpcServerTest.
 */
class GpuPlacementOptionsTest {
    static final String STORY = "Once upon a time, there was a little girl named";

    @BeforeAll
    static void nativeLibrary() {
        requireNative();
    }

    @Test
    void withoutADeviceTheOptionsWarnAndTheReportStatesThem(@TempDir Path dir) throws IOException {
        CliRun r = CliRun.of("probe", "-m", stories260K().toString(), "-p", STORY, "-ngl", "0", "--split-mode", "none",
                "--main-gpu", "1", "--top-k", "3", "-t", "1", "--out", dir.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.err().contains("gguf-lens: warning: --split-mode none --main-gpu 1 has no effect: no GPU or RPC device"
                + " holds layers"), r.err());
        assertTrue(r.out().contains("Backend: CPU (") && r.out().contains("; 0/6 layers offloaded; split mode none, main GPU 1\n"), r.out());
        JsonObject backend = JsonParser.parseString(Files.readString(dir.resolve("stories260K.json"))).getAsJsonObject()
                .getAsJsonObject("model").getAsJsonObject("backend");
        assertEquals("none", backend.get("split_mode").getAsString());
        assertEquals(1, backend.get("main_gpu").getAsInt());
        assertTrue(backend.get("warning").getAsString().startsWith("--split-mode none --main-gpu 1 has no effect"), backend.toString());
    }

    @Test
    void withoutTheOptionsTheReportSaysNothingOfThem(@TempDir Path dir) throws IOException {
        CliRun r = CliRun.of("probe", "-m", stories260K().toString(), "-p", STORY, "--top-k", "3", "-t", "1", "--out", dir.toString(), "-q");
        assertEquals(0, r.exit(), r.err());
        JsonObject backend = JsonParser.parseString(Files.readString(dir.resolve("stories260K.json"))).getAsJsonObject()
                .getAsJsonObject("model").getAsJsonObject("backend");
        assertTrue(backend.get("split_mode").isJsonNull() && backend.get("main_gpu").isJsonNull(), backend.toString());
    }

    @Test
    void invalidValuesAreOneLineUsageErrors() {
        CliRun negative = CliRun.of("probe", "-m", stories260K().toString(), "-p", STORY, "--main-gpu", "-1");
        assertEquals(2, negative.exit(), negative.err());
        assertEquals("gguf-lens: --main-gpu -1: must be 0 or more (an index into the GPU and RPC devices; -ngl 0 keeps the"
                + " model on the CPU)", negative.err().strip());
        CliRun unknown = CliRun.of("compare", "-m", stories260K().toString(), "-m", stories260K().toString(), "--split-mode", "diagonal");
        assertEquals(2, unknown.exit(), unknown.err());
        assertTrue(unknown.err().startsWith("gguf-lens: ") && unknown.err().contains("unknown --split-mode 'diagonal' (choose none, layer or row)"),
                unknown.err());
    }

    @Test
    void everyModelLoadingCommandTakesThem() {
        for (String command : new String[]{"probe", "compare", "attribute", "trace", "ablate"}) {
            CliRun help = CliRun.of(command, "--help");
            assertTrue(help.out().contains("--main-gpu=N") && help.out().contains("--split-mode=none|layer|row"), command + ":\n" + help.out());
        }
    }
}
