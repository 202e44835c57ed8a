package dev.gguflens.llama;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static dev.gguflens.testmodels.Fixtures.*;
import static org.junit.jupiter.api.Assertions.*;

/** Tokenisation through the binding reproduces llama.cpp's own test vectors (tests/test-tokenizer-0 format). */
class TokenizerVectorsTest {
    @ParameterizedTest
    @ValueSource(strings = {"ggml-vocab-llama-spm.gguf", "ggml-vocab-qwen2.gguf"})
    void reproducesReferenceVectors(String vocabFile) throws IOException {
        requireNative();
        Path models = llamaCppDir().resolve("models");
        Path vocab = models.resolve(vocabFile);
        String raw = Files.readString(models.resolve(vocabFile + ".inp"), StandardCharsets.UTF_8);
        List<String> inputs = new ArrayList<>(Arrays.asList(raw.split("\n__ggml_vocab_test__\n", -1)));
        List<String> outputs = Files.readAllLines(models.resolve(vocabFile + ".out"), StandardCharsets.UTF_8);
        if (inputs.size() == outputs.size() + 1 && inputs.getLast().isEmpty()) inputs.removeLast();  // trailing separator
        assertEquals(outputs.size(), inputs.size(), "input/output case count");
        assertTrue(inputs.size() > 30);

        try (LlamaModel model = LlamaModel.loadVocabOnly(vocab)) {
            assertTrue(model.isVocabOnly());
            for (int i = 0; i < inputs.size(); i++) {
                String expectedLine = outputs.get(i).strip();
                int[] expected = expectedLine.isEmpty() ? new int[0]
                        : Arrays.stream(expectedLine.split(" ")).mapToInt(Integer::parseInt).toArray();
                int[] actual = model.tokenize(inputs.get(i), false, false);
                assertArrayEquals(expected, actual, vocabFile + " case " + i + ": '" + inputs.get(i) + "'");
            }
            assertThrows(IllegalArgumentException.class, () -> LlamaContext.create(model, ContextParams.of(64)));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"ggml-vocab-llama-spm.gguf", "ggml-vocab-qwen2.gguf"})
    void piecesConcatenateToTheText(String vocabFile) {
        requireNative();
        try (LlamaModel model = LlamaModel.loadVocabOnly(llamaCppDir().resolve("models").resolve(vocabFile))) {
            String text = "Hello world, this is 🦙.cpp — naïve café";
            int[] tokens = model.tokenize(text, false, false);
            var bytes = new java.io.ByteArrayOutputStream();
            for (int t : tokens) bytes.writeBytes(model.tokenPiece(t));
            String decoded = bytes.toString(StandardCharsets.UTF_8);
            // SentencePiece adds a leading space to the first word
            assertEquals(text, decoded.startsWith(" ") && !text.startsWith(" ") ? decoded.substring(1) : decoded);
        }
    }
}
