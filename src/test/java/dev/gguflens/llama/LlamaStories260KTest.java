package dev.gguflens.llama;

import dev.gguflens.gguf.GgufFile;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;

import static dev.gguflens.llama.NativeTestSupport.*;
import static dev.gguflens.testmodels.Fixtures.*;
import static org.junit.jupiter.api.Assertions.*;

/** The real tiny model: llama.cpp's prediction, and Java's lens projection of its captured states, agree. */
class LlamaStories260KTest {
    private static final String PROMPT = "Once upon a time, there was a little girl named";
    private static LlamaModel model;
    private static GgufFile gguf;

    @BeforeAll
    static void load() {
        requireNative();
        var path = stories260K();
        model = LlamaModel.load(path, ModelParams.defaults());
        gguf = GgufFile.open(path);
    }

    @AfterAll
    static void close() {
        if (model != null) model.close();
        if (gguf != null) gguf.close();
    }

    @Test
    void modelFacts() {
        assertEquals("llama", model.architecture());
        assertEquals(5, model.layerCount());
        assertEquals(64, model.embeddingLength());
        assertEquals(512, model.vocabSize());
        assertEquals(1, model.bosToken());
        assertEquals(2, model.eosToken());
        assertEquals("<s>", model.tokenText(model.bosToken()));
    }

    @Test
    void nextTokenIsLilyInLlamaCppAndInJavaProjection() {
        int[] tokens = model.tokenize(PROMPT, true, false);
        assertEquals(model.bosToken(), tokens[0]);
        try (var ctx = LlamaContext.create(model, new ContextParams(128, 128, 2));
             var capture = ctx.capture(tokens, CaptureRequest.all())) {
            int last = tokens.length - 1;
            assertEquals(6, capture.layers());
            float[] logits = capture.logitsArray(last);
            assertEquals("▁Lily", model.tokenText(argmax(logits)));

            float[] gamma = f32(gguf, "output_norm.weight");
            float[] output = f32(gguf, "output.weight");
            double eps = gguf.hyperparameters().rmsNormEpsilon().orElseThrow();
            for (int p = 0; p < tokens.length; p++) {
                double[] norm = rmsNorm(capture.layerStateArray(5, p), gamma, eps);
                assertTrue(relativeMaxDiff(capture.resultNormArray(p), norm) <= 1e-5, "result_norm at position " + p);
                double[] projected = project(output, norm);
                float[] l = capture.logitsArray(p);
                assertTrue(relativeMaxDiff(l, projected) <= 1e-4, "logits at position " + p);
                assertEquals(argmax(l), argmax(projected), "top token at position " + p);
            }
            // Layer 0 is the token embedding row itself for llama (no scaling).
            float[] embd = f32(gguf, "token_embd.weight");
            for (int p = 0; p < tokens.length; p++) {
                float[] state = capture.layerStateArray(0, p);
                for (int i = 0; i < 64; i++) assertEquals(embd[tokens[p] * 64 + i], state[i], 0.0f);
            }
        }
    }

    @Test
    void chunkedPromptMatchesOneBatch() {
        int[] tokens = model.tokenize(PROMPT + " Lily. She liked to play outside in the sun with her dog.", true, false);
        try (var whole = LlamaContext.create(model, new ContextParams(256, 256, 2));
             var chunked = LlamaContext.create(model, new ContextParams(256, 7, 2));
             var a = whole.capture(tokens, CaptureRequest.all().withExtras(List.of("ffn_out-2", "no_such_tensor")));
             var b = chunked.capture(tokens, CaptureRequest.all().withExtras(List.of("ffn_out-2")))) {
            assertEquals(7, chunked.batchSize());
            assertTrue(tokens.length > 2 * 7, "prompt must span several chunks");
            for (int p = 0; p < tokens.length; p++) {
                for (int layer = 0; layer < a.layers(); layer++) {
                    assertArrayEquals(a.layerStateArray(layer, p), b.layerStateArray(layer, p), 1e-4f, "layer " + layer + " position " + p);
                }
                assertArrayEquals(a.logitsArray(p), b.logitsArray(p), 1e-3f, "logits at position " + p);
                float[] extraA = a.extra("ffn_out-2", p).orElseThrow().toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT);
                float[] extraB = b.extra("ffn_out-2", p).orElseThrow().toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT);
                assertArrayEquals(extraA, extraB, 1e-4f);
                // the block output is its input plus attention and FFN contributions, so ffn_out differs from it
                assertFalse(java.util.Arrays.equals(extraA, a.layerStateArray(3, p)));
            }
            assertTrue(a.extra("no_such_tensor", 0).isEmpty());
        }
    }

    @Test
    void tokenPiecesRoundTrip() {
        int[] tokens = model.tokenize(PROMPT, false, false);
        StringBuilder text = new StringBuilder();
        for (int t : tokens) text.append(new String(model.tokenPiece(t), java.nio.charset.StandardCharsets.UTF_8));
        assertEquals(" " + PROMPT, text.toString());
    }

    @Test
    void verboseForwardsLogLinesToSystemLogger() {
        var julLogger = java.util.logging.Logger.getLogger("dev.gguflens.llama.native");
        var records = new java.util.concurrent.CopyOnWriteArrayList<String>();
        var handler = new java.util.logging.Handler() {
            @Override public void publish(java.util.logging.LogRecord r) { records.add(r.getMessage()); }
            @Override public void flush() {}
            @Override public void close() {}
        };
        julLogger.addHandler(handler);
        julLogger.setUseParentHandlers(false);  // keep the test output quiet
        try {
            LlamaBackend.setVerbose(false);
            LlamaModel.loadVocabOnly(stories260K()).close();
            assertTrue(records.isEmpty(), "quiet unless verbose: " + records);
            LlamaBackend.setVerbose(true);
            LlamaModel.loadVocabOnly(stories260K()).close();
            assertTrue(records.stream().anyMatch(r -> r.contains("llama_model_loader")), "forwarded: " + records);
        } finally {
            LlamaBackend.setVerbose(false);
            julLogger.removeHandler(handler);
            julLogger.setUseParentHandlers(true);
        }
    }

    @Test
    void logIsKept() {
        List<String> log = LlamaBackend.recentLog();
        assertTrue(log.stream().anyMatch(l -> l.contains("llama")), "llama.cpp's loader log is captured: " + log);
    }
}
