package dev.gguflens.cli;

import dev.gguflens.gguf.FileType;
import dev.gguflens.gguf.GgufFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static dev.gguflens.testmodels.Fixtures.*;
import static org.junit.jupiter.api.Assertions.*;

/** scripts/convert.sh: argument errors, missing Python packages, and its quantisation stage on a small GGUF. */
class ConvertScriptTest {
    @TempDir Path dir;

    record Result(int code, String out, String err) {}

    static Path script() {
        return projectDir().resolve("scripts/convert.sh");
    }

    Result run(Map<String, String> env, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("bash", script().toString()));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().putAll(env);
        Path out = dir.resolve("stdout.txt"), err = dir.resolve("stderr.txt");
        pb.redirectOutput(out.toFile()).redirectError(err.toFile());
        int code = pb.start().waitFor();
        return new Result(code, Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
    }

    @Test
    void argumentErrorsExitWithUsageCode() throws Exception {
        Result none = run(Map.of());
        assertEquals(2, none.code());
        assertTrue(none.err().startsWith("convert.sh: expected SOURCE and OUT_DIR, got 0 argument(s)"), none.err());
        Result missing = run(Map.of(), dir.resolve("nope").toString(), dir.toString());
        assertEquals(2, missing.code());
        assertTrue(missing.err().contains("SOURCE '" + dir.resolve("nope") + "' does not exist"), missing.err());
        Files.createDirectories(dir.resolve("empty"));
        Result notHf = run(Map.of(), dir.resolve("empty").toString(), dir.resolve("o").toString());
        assertTrue(notHf.err().contains("is not a Hugging Face checkpoint (no config.json)"), notHf.err());
        Result outtype = run(Map.of(), "--outtype", "q4", dir.toString(), dir.toString());
        assertEquals(2, outtype.code());
        assertTrue(outtype.err().contains("--outtype 'q4' must be f16, bf16 or f32"), outtype.err());
        Result option = run(Map.of(), "--bogus", "a", "b");
        assertTrue(option.err().startsWith("convert.sh: unknown option '--bogus'"), option.err());
        Path gguf = Files.writeString(dir.resolve("m.gguf"), "x");
        Result nothing = run(Map.of(), gguf.toString(), dir.resolve("o").toString());
        assertEquals(2, nothing.code());
        assertTrue(nothing.err().contains("no --quantize types were given: nothing to do"), nothing.err());
        Result help = run(Map.of(), "--help");
        assertEquals(0, help.code());
        assertTrue(help.out().contains("torch, numpy, sentencepiece and transformers"), help.out());
    }

    /** A stand-in interpreter that reports torch and transformers as not installed. */
    @Test
    void missingPythonPackagesAreNamed() throws Exception {
        Path hf = Files.createDirectories(dir.resolve("hf"));
        Files.writeString(hf.resolve("config.json"), "{}");
        Path fakePython = dir.resolve("fake-python");
        Files.writeString(fakePython, """
                #!/usr/bin/env bash
                # Answers the package check as a Python without torch and transformers would.
                echo "torch transformers"
                """);
        Files.setPosixFilePermissions(fakePython, PosixFilePermissions.fromString("rwxr-xr-x"));
        Result r = run(Map.of("PYTHON", fakePython.toString(), "LLAMA_CPP_DIR", llamaCppDir().toString()),
                hf.toString(), dir.resolve("out").toString());
        assertEquals(1, r.code(), r.err());
        assertTrue(r.err().startsWith("convert.sh: Python packages missing for " + fakePython + ": torch transformers"), r.err());
        Result noPython = run(Map.of("PYTHON", dir.resolve("no-such-python").toString(), "LLAMA_CPP_DIR", llamaCppDir().toString()),
                hf.toString(), dir.resolve("out").toString());
        assertEquals(1, noPython.code());
        assertTrue(noPython.err().contains("Python interpreter '" + dir.resolve("no-such-python") + "' not found"), noPython.err());
        assertFalse(Files.exists(dir.resolve("out/hf-F16.gguf")));
    }

    @Test
    void quantisationStageOnASmallGguf() throws Exception {
        requireNative();
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String tool = java + " --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp "
                + System.getProperty("java.class.path") + " " + Main.class.getName();
        Path out = dir.resolve("q");
        Result r = run(Map.of("GGUF_LENS", tool), "--quantize", "q8_0,Q4_0", "--name", "tiny", stories260K().toString(), out.toString());
        assertEquals(0, r.code(), r.err());
        assertEquals(out.resolve("tiny-Q8_0.gguf") + "\n" + out.resolve("tiny-Q4_0.gguf") + "\n", r.out());
        for (String type : List.of("Q8_0", "Q4_0")) {
            try (GgufFile g = GgufFile.open(out.resolve("tiny-" + type + ".gguf"))) {
                assertEquals(type, FileType.name(g.hyperparameters().fileType().orElseThrow()));
            }
        }
        Result bad = run(Map.of("GGUF_LENS", tool), "--quantize", "Q9_X", stories260K().toString(), out.toString());
        assertEquals(1, bad.code());
        assertTrue(bad.err().contains("TYPE 'Q9_X' is not a known type") && bad.err().contains("convert.sh: quantisation to Q9_X failed"),
                bad.err());
    }
}
