package dev.gguflens.llama;

import dev.gguflens.testmodels.RandomModels;
import dev.gguflens.testmodels.RandomModels.Arch;
import dev.gguflens.testmodels.RandomModels.Spec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static dev.gguflens.testmodels.Fixtures.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * {@link ModelParams#repack} reaches llama.cpp: with it a Q4_K model gets llama.cpp's CPU_REPACK buffer (its load log
 * says so), without it none; both run the same model to logits that agree to llama.cpp's rounding.
 */
class RepackTest {
    @TempDir static Path dir;

    @Test
    void repackingIsLlamaCppsExtraBufferAndChangesOnlyRounding() {
        requireNative();
        Path f32 = RandomModels.write(Spec.kQuantable(Arch.LLAMA, 17), llamaCppDir(), dir);
        Path q4 = dir.resolve("llama-Q4_K_M.gguf");
        LlamaQuantizer.quantize(f32, q4, "Q4_K_M", 2);
        float[] on = lastLogits(q4, true);
        boolean repackedWithIt = repackBufferLogged();
        float[] off = lastLogits(q4, false);
        boolean repackedWithout = repackBufferLogged();
        assertTrue(repackedWithIt, "repack on: llama.cpp logs a CPU_REPACK buffer");
        assertFalse(repackedWithout, "repack off: no CPU_REPACK buffer");
        double max = 0, diff = 0;
        for (int i = 0; i < on.length; i++) {
            max = Math.max(max, Math.abs(off[i]));
            diff = Math.max(diff, Math.abs(on[i] - off[i]));
        }
        // Both round the activations to 8 bits; only the summation order differs.
        assertTrue(diff <= 1e-2 * max, "logits with and without repacking differ by " + diff + " of " + max);
    }

    private static float[] lastLogits(Path model, boolean repack) {
        int[] tokens = {1, 300, 301, 17, 42, 250};
        try (LlamaModel m = LlamaModel.load(model, new ModelParams(0, true, repack, null));
             LlamaContext ctx = LlamaContext.create(m, new ContextParams(64, 8, 2));
             Capture capture = ctx.capture(tokens, CaptureRequest.all())) {
            return capture.logitsArray(tokens.length - 1);
        }
    }

    /** Whether llama.cpp's last load logged a CPU_REPACK model buffer (its buffers follow "loading model tensors"). */
    private static boolean repackBufferLogged() {
        var log = LlamaBackend.recentLog();
        int start = 0;
        for (int i = 0; i < log.size(); i++) if (log.get(i).contains("loading model tensors")) start = i;
        assertTrue(log.get(start).contains("loading model tensors"), "llama.cpp's load log is kept: " + log);
        return log.subList(start, log.size()).stream().anyMatch(l -> l.contains("CPU_REPACK"));
    }
}
