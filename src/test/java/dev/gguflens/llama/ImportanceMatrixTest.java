package dev.gguflens.llama;

import dev.gguflens.gguf.GgufException;
import dev.gguflens.gguf.GgufFile;
import dev.gguflens.gguf.GgufTensor;
import dev.gguflens.gguf.GgufWriter;
import dev.gguflens.testmodels.RandomModels;
import dev.gguflens.testmodels.RandomModels.Arch;
import dev.gguflens.testmodels.RandomModels.Spec;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;

import static dev.gguflens.testmodels.Fixtures.*;
import static org.junit.jupiter.api.Assertions.*;

/** Importance matrices: read like llama.cpp's quantize tool reads them, and passed through to its quantiser. */
class ImportanceMatrixTest {
    @TempDir static Path dir;
    static Path model;

    @BeforeAll
    static void setUp() {
        requireNative();
        model = RandomModels.write(Spec.kQuantable(Arch.LLAMA, 5), llamaCppDir(), dir);
    }

    /** An imatrix for every 2-D block weight: random positive sums, one expert, a token count. */
    static Path writeImatrix(Path file, float count, long seed) throws IOException {
        SplittableRandom rnd = new SplittableRandom(seed);
        GgufWriter w = new GgufWriter()
                .putString("general.type", "imatrix")
                .putStringArray("imatrix.datasets", List.of("test"))
                .putUInt32("imatrix.chunk_count", 4)
                .putUInt32("imatrix.chunk_size", 512);
        try (GgufFile f = GgufFile.open(model)) {
            for (GgufTensor t : f.tensors()) {
                if (!t.name().startsWith("blk.") || t.dimensions() != 2) continue;
                float[] sums = new float[(int) t.rowLength()];
                for (int i = 0; i < sums.length; i++) sums[i] = (float) (rnd.nextDouble() * rnd.nextDouble() * 100 * count);
                w.addF32Tensor(t.name() + ".in_sum2", new long[] {sums.length, 1}, sums);
                w.addF32Tensor(t.name() + ".counts", new long[] {1, 1}, new float[] {count});
            }
        }
        w.write(file);
        return file;
    }

    @Test
    void valuesAreSumsOverCountsAndOneWhereNothingWasSeen() throws IOException {
        Path file = writeImatrix(dir.resolve("seen.imatrix.gguf"), 2048, 1);
        ImportanceMatrix m = ImportanceMatrix.load(file);
        try (GgufFile f = GgufFile.open(file)) {
            GgufTensor sums = f.tensor("blk.0.attn_q.weight.in_sum2").orElseThrow();
            float[] v = m.values().get("blk.0.attn_q.weight");
            assertEquals(sums.elementCount(), v.length);
            for (int i = 0; i < v.length; i++) {
                float sum = sums.data().getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, i);
                assertEquals(sum / 2048f, v[i], 0f, "value " + i);
            }
        }
        ImportanceMatrix unseen = ImportanceMatrix.load(writeImatrix(dir.resolve("unseen.imatrix.gguf"), 0, 2));
        for (float[] v : unseen.values().values()) for (float x : v) assertEquals(1f, x);
    }

    @Test
    void aModelIsNotAnImportanceMatrix() {
        GgufException e = assertThrows(GgufException.class, () -> ImportanceMatrix.load(model));
        assertTrue(e.getMessage().contains("not an importance matrix: metadata key imatrix.datasets is missing"), e.getMessage());
    }

    @Test
    void iQuantsNeedAnImportanceMatrixAndGetOne() throws IOException {
        Path without = dir.resolve("iq2-without.gguf");
        LlamaException refused = assertThrows(LlamaException.class, () -> LlamaQuantizer.quantize(model, without, "IQ2_XXS", 2));
        assertTrue(refused.getMessage().contains("quantizing") && refused.getMessage().toLowerCase().contains("importance matrix"),
                refused.getMessage());

        ImportanceMatrix m = ImportanceMatrix.load(writeImatrix(dir.resolve("iq.imatrix.gguf"), 512, 3));
        Path with = dir.resolve("iq2-with.gguf");
        LlamaQuantizer.quantize(model, with, "IQ2_XXS", 2, m);
        try (GgufFile f = GgufFile.open(with)) {
            assertEquals("IQ2_XXS", f.tensor("blk.0.attn_q.weight").orElseThrow().type().name());
        }
    }

    @Test
    void theMatrixChangesWhatTheQuantiserWrites() throws IOException {
        Path plain = dir.resolve("q4-plain.gguf");
        Path guided = dir.resolve("q4-guided.gguf");
        LlamaQuantizer.quantize(model, plain, "Q4_K_M", 2);
        LlamaQuantizer.quantize(model, guided, "Q4_K_M", 2, ImportanceMatrix.load(writeImatrix(dir.resolve("q4.imatrix.gguf"), 64, 4)));
        try (GgufFile a = GgufFile.open(plain); GgufFile b = GgufFile.open(guided)) {
            GgufTensor ta = a.tensor("blk.0.attn_q.weight").orElseThrow();
            GgufTensor tb = b.tensor("blk.0.attn_q.weight").orElseThrow();
            assertEquals(ta.type(), tb.type());
            assertEquals(ta.byteSize(), tb.byteSize());
            assertNotEquals(-1L, ta.data().mismatch(tb.data()) , "same blocks: the importance matrix was ignored");
        }
        assertTrue(Files.size(guided) > 0);
    }
}
