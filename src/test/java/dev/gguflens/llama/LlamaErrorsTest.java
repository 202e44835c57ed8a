package dev.gguflens.llama;

import dev.gguflens.gguf.GgufException;
import dev.gguflens.gguf.GgufFile;
import dev.gguflens.gguf.GgufTensor;
import dev.gguflens.gguf.GgufWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static dev.gguflens.testmodels.Fixtures.*;
import static org.junit.jupiter.api.Assertions.*;

/** Every failure surfaces as one clear exception, and the JVM survives all of them. */
class LlamaErrorsTest {
    @TempDir Path dir;

    @Test
    void missingFile() {
        requireNative();
        Path missing = dir.resolve("absent.gguf");
        GgufException e = assertThrows(GgufException.class, () -> LlamaModel.load(missing, ModelParams.defaults()));
        assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
    }

    @Test
    void notAGguf() throws IOException {
        requireNative();
        Path text = Files.writeString(dir.resolve("notes.gguf"), "this is not a model, just some text long enough to have a header");
        GgufException e = assertThrows(GgufException.class, () -> LlamaModel.load(text, ModelParams.defaults()));
        assertTrue(e.getMessage().contains("notes.gguf"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
    }

    @Test
    void truncatedFileIsCaughtInJavaFirst() throws IOException {
        requireNative();
        byte[] all = Files.readAllBytes(stories260K());
        Path truncated = Files.write(dir.resolve("truncated.gguf"), Arrays.copyOf(all, all.length / 2));
        GgufException e = assertThrows(GgufException.class, () -> LlamaModel.load(truncated, ModelParams.defaults()));
        assertTrue(e.getMessage().contains("truncated.gguf"), e.getMessage());
    }

    @Test
    void unknownArchitectureCarriesLlamaCppMessage() throws IOException {
        requireNative();
        Path out = dir.resolve("nosucharch.gguf");
        try (GgufFile src = GgufFile.open(stories260K())) {
            GgufWriter w = new GgufWriter().copyMetadata(src, k -> !k.startsWith("llama.") && !k.equals("general.architecture"));
            w.putString("general.architecture", "nosucharch");
            // Valid hyperparameters under the new name, so the Java checks pass and llama.cpp's own message is seen.
            src.metadata().forEach((k, v) -> {
                if (k.startsWith("llama.")) w.put("nosucharch." + k.substring("llama.".length()), v);
            });
            GgufTensor t = src.tensor("output_norm.weight").orElseThrow();
            w.addTensor(t.name(), t.type(), t.shape(), t.data());
            w.write(out);
        }
        LlamaException e = assertThrows(LlamaException.class, () -> LlamaModel.load(out, ModelParams.defaults()));
        assertTrue(e.getMessage().contains("unknown model architecture: 'nosucharch'"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
    }

    @Test
    void cancelledLoad() {
        requireNative();
        LlamaException e = assertThrows(LlamaException.class,
                () -> LlamaModel.load(stories260K(), new ModelParams(0, false, fraction -> false)));
        assertTrue(e.getMessage().contains("cancelled"), e.getMessage());
    }

    @Test
    void badPrompts() {
        requireNative();
        try (LlamaModel model = LlamaModel.load(stories260K(), ModelParams.defaults());
             LlamaContext ctx = LlamaContext.create(model, new ContextParams(256, 64, 1))) {
            var empty = assertThrows(IllegalArgumentException.class, () -> ctx.capture(new int[0], CaptureRequest.all()));
            assertTrue(empty.getMessage().contains("empty prompt"), empty.getMessage());
            int[] tooLong = new int[ctx.contextSize() + 1];
            Arrays.fill(tooLong, 5);
            var longer = assertThrows(IllegalArgumentException.class, () -> ctx.capture(tooLong, CaptureRequest.all()));
            assertTrue(longer.getMessage().contains("longer than the context size " + ctx.contextSize()), longer.getMessage());
            var badToken = assertThrows(IllegalArgumentException.class, () -> ctx.capture(new int[] {1, 99999}, CaptureRequest.all()));
            assertTrue(badToken.getMessage().contains("99999"), badToken.getMessage());
            assertThrows(IllegalStateException.class, model::close, "a model with an open context must not be freed");
            // the context still works after all of that
            try (Capture c = ctx.capture(new int[] {1, 400}, CaptureRequest.all())) {
                assertEquals(2, c.positions());
            }
        }
    }

    @Test
    void unknownQuantType() {
        var e = assertThrows(IllegalArgumentException.class, () -> LlamaQuantizer.quantize(dir.resolve("a"), dir.resolve("b"), "Q7_X", 1));
        assertTrue(e.getMessage().contains("Q4_K_M") && e.getMessage().contains("Q7_X"), e.getMessage());
    }
}
