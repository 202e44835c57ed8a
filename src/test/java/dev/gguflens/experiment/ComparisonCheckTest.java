package dev.gguflens.experiment;

import dev.gguflens.gguf.GgufFile;
import dev.gguflens.gguf.GgufTensor;
import dev.gguflens.gguf.GgufWriter;
import dev.gguflens.testmodels.RandomModels;
import dev.gguflens.testmodels.RandomModels.Arch;
import dev.gguflens.testmodels.RandomModels.Spec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static dev.gguflens.testmodels.Fixtures.*;
import static org.junit.jupiter.api.Assertions.*;

/** Models that do not share architecture, n_layer, n_embd and vocabulary are refused, naming what differs. */
class ComparisonCheckTest {
    @TempDir Path dir;

    /** stories260K with one token's text changed: same shapes, same vocabulary size. */
    private Path storiesWithRenamedToken(int id, String text) throws Exception {
        Path out = dir.resolve("stories-renamed.gguf");
        try (GgufFile src = GgufFile.open(stories260K())) {
            List<String> tokens = new ArrayList<>(src.vocabulary().tokens());
            tokens.set(id, text);
            GgufWriter w = new GgufWriter().copyMetadata(src, k -> true).putStringArray("tokenizer.ggml.tokens", tokens);
            for (GgufTensor t : src.tensors()) w.addTensor(t.name(), t.type(), t.shape(), t.data());
            w.write(out);
        }
        return out;
    }

    @Test
    void differentTokenTextsAreRefusedNamingTheFirstDifference() throws Exception {
        Path renamed = storiesWithRenamedToken(300, "zzz-renamed");
        try (GgufFile a = GgufFile.open(stories260K()); GgufFile b = GgufFile.open(renamed)) {
            String original = a.vocabulary().token(300);
            InvalidInputException e = assertThrows(InvalidInputException.class, () -> ComparisonCheck.requireCompatible(a, b));
            assertEquals("cannot compare stories-renamed.gguf with the reference stories260K.gguf: vocabulary: 1 token text(s) "
                    + "differ, first token 300 '" + original + "' vs 'zzz-renamed'", e.getMessage());
            assertEquals(List.of(), ComparisonCheck.differences(a, a));
        }
    }

    @Test
    void differentShapesAreAllNamed() {
        Path two = RandomModels.write(Spec.small(Arch.QWEN3, 1), llamaCppDir(), dir);
        Spec s = Spec.small(Arch.QWEN3, 2);
        Path three = RandomModels.write(new Spec(s.arch(), 3, s.embedding(), s.feedForward(), s.heads(), s.kvHeads(),
                s.headDim(), s.tiedOutput(), s.seed()), llamaCppDir(), dir);
        try (GgufFile a = GgufFile.open(two); GgufFile b = GgufFile.open(three); GgufFile st = GgufFile.open(stories260K())) {
            assertEquals(List.of("n_layer 2 vs 3"), ComparisonCheck.differences(a, b));
            List<String> d = ComparisonCheck.differences(a, st);
            assertEquals(List.of("architecture qwen3 vs llama", "n_layer 2 vs 5", "vocabulary size 151936 vs 512"), d);
        }
    }
}
