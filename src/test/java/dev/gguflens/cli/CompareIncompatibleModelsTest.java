package dev.gguflens.cli;

import dev.gguflens.testmodels.RandomModels;
import dev.gguflens.testmodels.RandomModels.Arch;
import dev.gguflens.testmodels.RandomModels.Spec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static dev.gguflens.testmodels.Fixtures.llamaCppDir;
import static dev.gguflens.testmodels.Fixtures.requireNative;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * {@code compare} refuses models of different shapes before loading any of them: one line naming both files and
 * what differs, the usage exit code, and nothing written. (Which differences are found is experiment's
 * ComparisonCheckTest; this is the command's side.)
 */
class CompareIncompatibleModelsTest {
    @TempDir Path dir;

    @Test
    void theCliRefusesBeforeLoadingAnything() {
        requireNative();
        Path two = RandomModels.write(Spec.small(Arch.QWEN3, 1), llamaCppDir(), dir);
        Spec s = Spec.small(Arch.QWEN3, 2);
        Path three = RandomModels.write(new Spec(s.arch(), 3, s.embedding(), s.feedForward(), s.heads(), s.kvHeads(),
                s.headDim(), s.tiedOutput(), s.seed()), llamaCppDir(), dir);
        CliRun r = CliRun.of("compare", "-m", two.toString(), "-m", three.toString(), "-p", "hello", "-q",
                "--out", dir.resolve("out").toString());
        assertEquals(Main.EXIT_USAGE, r.exit(), r.err());
        assertEquals("gguf-lens: cannot compare " + three.getFileName() + " with the reference " + two.getFileName()
                + ": n_layer 2 vs 3", r.err().strip());
        assertEquals(0, dir.resolve("out").toFile().list().length, "nothing written");
    }
}
