package dev.gguflens.gguf;

import dev.gguflens.testmodels.Fixtures;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;

import static org.junit.jupiter.api.Assertions.*;

/** Reads the real stories260K model (converted by llama.cpp's own tools). */
class Stories260KTest {
    @Test
    void readsHyperparametersVocabularyAndTensors() throws Exception {
        var path = Fixtures.stories260K();
        try (GgufFile g = GgufFile.open(path)) {
            assertEquals("llama", g.architecture());
            ModelHyperparameters hp = g.hyperparameters();
            assertEquals(5, hp.blockCount());
            assertEquals(64, hp.embeddingLength());
            assertTrue(hp.rmsNormEpsilon().isPresent());
            assertEquals(48, g.tensors().size());
            assertEquals(Files.size(path), g.fileSize());
            Vocabulary v = g.vocabulary();
            assertEquals(512, v.size());
            assertEquals("▁Lily", v.token(v.tokens().indexOf("▁Lily")));
            assertEquals(1, v.bosId().orElseThrow());
            assertEquals("<s>", v.token(v.bosId().getAsInt()));
            assertEquals("llama", v.model());
            GgufTensor emb = g.tensor("token_embd.weight").orElseThrow();
            assertArrayEquals(new long[] {64, 512}, emb.shape());
            assertEquals(GgmlType.F32, emb.type());
            assertEquals(64 * 512 * 4, emb.byteSize());
            for (GgufTensor t : g.tensors()) assertEquals(0, (t.dataOffset() - g.dataStart()) % g.alignment(), t.name());
        }
    }
}
