package dev.gguflens.lens;

import dev.gguflens.gguf.GgmlType;
import dev.gguflens.gguf.GgufException;
import dev.gguflens.gguf.GgufFile;
import dev.gguflens.gguf.GgufTensor;
import dev.gguflens.gguf.GgufWriter;
import dev.gguflens.testmodels.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalDouble;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Norms, head transforms and building the head from GGUF files. */
class LensHeadTest {
    @TempDir
    Path dir;

    /** F32 output tensors read straight from the mapped file (the quantised path is covered with the kernels). */
    static final Function<GgufTensor, LogitProjection> F32_ONLY = tensor -> {
        assertEquals(GgmlType.F32, tensor.type());
        int rows = Math.toIntExact(tensor.rowCount()), cols = Math.toIntExact(tensor.rowLength());
        float[] values = tensor.data().toArray(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN));
        return LogitProjection.ofRowMajor(values, rows, cols);
    };

    @Test
    void logitScaleThenSoftcapByHand() {
        // W = [[1,0],[0,1],[1,1]], b = [0.5, 0, -1], scale 2, cap 3, RAW lens on x = [2, -1]:
        // Wx + b = [2.5, -1, 0]; * 2 = [5, -2, 0]; softcap -> 3 tanh(5/3), 3 tanh(-2/3), 0.
        float[] weight = {1, 0, 0, 1, 1, 1};
        LensHead head = new LensHead("test", NormKind.RMS_NORM, new float[]{1, 1}, null, 0f,
                LogitProjection.ofRowMajor(weight, 3, 2), new float[]{0.5f, 0f, -1f},
                OptionalDouble.of(2.0), OptionalDouble.of(3.0));
        double[] expected = {3 * Math.tanh(5.0 / 3), 3 * Math.tanh(-2.0 / 3), 0};
        assertEquals(2.7933, expected[0], 1e-4);   // the hand value, so the formula itself is pinned
        double lse = Math.log(Math.exp(expected[0]) + Math.exp(expected[1]) + Math.exp(expected[2]));

        LensResult result = LogitLens.run(head, LayerStates.of(new float[][][]{{{2, -1}}}),
                new LensRequest(LensKind.RAW, 3, new int[]{0}, List.of(new TrackedToken("two", 2))), 1);
        var rec = result.record(0, 0);
        assertArrayEquals(new int[]{0, 2, 1}, rec.topK().stream().mapToInt(LensResult.TokenProbability::id).toArray());
        assertEquals(Math.exp(expected[0] - lse), rec.topK().get(0).probability(), 1e-7);
        assertEquals(Math.exp(expected[2] - lse), rec.topK().get(1).probability(), 1e-7);
        assertEquals(Math.exp(expected[1] - lse), rec.topK().get(2).probability(), 1e-7);
        assertEquals(2, rec.tracked().getFirst().rank());
        // Each transform alone, so neither can hide behind the other.
        assertEquals(5.0, new LensHead("t", NormKind.RMS_NORM, new float[]{1, 1}, null, 0f, head.output(), null,
                OptionalDouble.of(2.0), OptionalDouble.empty()).transformLogit(0, 2.5), 0);
        assertEquals(3 * Math.tanh(2.5 / 3), new LensHead("t", NormKind.RMS_NORM, new float[]{1, 1}, null, 0f,
                head.output(), null, OptionalDouble.empty(), OptionalDouble.of(3.0)).transformLogit(0, 2.5), 1e-15);
    }

    @Test
    void layerNormWithBiasByHand() {
        // h = [1, 2, 3, 4]: mean 2.5, variance 1.25; eps 0.25 -> sqrt(1.5).
        float[] gamma = {1, 2, 0.5f, -1};
        float[] beta = {0.1f, 0.2f, 0.3f, 0.4f};
        LensHead head = new LensHead("gpt2", NormKind.LAYER_NORM, gamma, beta, 0.25f,
                LogitProjection.ofRowMajor(new float[4], 1, 4), null, OptionalDouble.empty(), OptionalDouble.empty());
        float[] out = new float[4];
        head.prepare(LensKind.NORM, new float[]{1, 2, 3, 4}, 0, out, 0);
        double s = Math.sqrt(1.5);
        assertArrayEquals(new float[]{(float) (-1.5 / s + 0.1), (float) (-0.5 / s * 2 + 0.2),
                (float) (0.5 / s * 0.5 + 0.3), (float) (-1.5 / s + 0.4)}, out, 1e-6f);
        // RMS ignores gamma and beta: mean square 7.5 + 0.25.
        head.prepare(LensKind.RMS, new float[]{1, 2, 3, 4}, 0, out, 0);
        double r = Math.sqrt(7.75);
        assertArrayEquals(new float[]{(float) (1 / r), (float) (2 / r), (float) (3 / r), (float) (4 / r)}, out, 1e-6f);
    }

    @Test
    void normChoiceByArchitecture() {
        assertEquals(NormKind.RMS_NORM, HeadLookup.normFor("llama", true));
        assertEquals(NormKind.RMS_NORM, HeadLookup.normFor("gemma2", false));
        assertEquals(NormKind.LAYER_NORM, HeadLookup.normFor("gpt2", false));
        assertEquals(NormKind.LAYER_NORM, HeadLookup.normFor("phi2", true));
        assertEquals(NormKind.LAYER_NORM, HeadLookup.normFor("somethingnew", true));
        assertEquals(NormKind.RMS_NORM, HeadLookup.normFor("somethingnew", false));
    }

    private Path writeModel(String arch, boolean withOutput, boolean withNormBias, Double logitScale, Double softcap)
            throws IOException {
        int width = 4, vocab = 6;
        GgufWriter w = new GgufWriter().putString("general.architecture", arch)
                .putUInt32(arch + ".block_count", 2).putUInt32(arch + ".embedding_length", width)
                .putFloat32(arch + ".attention.layer_norm_rms_epsilon", 1e-6f)
                .putFloat32(arch + ".attention.layer_norm_epsilon", 1e-3f);
        if (logitScale != null) w.putFloat32(arch + ".logit_scale", logitScale.floatValue());
        if (softcap != null) w.putFloat32(arch + ".final_logit_softcapping", softcap.floatValue());
        float[] embd = new float[vocab * width];
        for (int i = 0; i < embd.length; i++) embd[i] = i * 0.25f;
        w.addF32Tensor("token_embd.weight", new long[]{width, vocab}, embd);
        w.addF32Tensor("output_norm.weight", new long[]{width}, new float[]{1, 2, 3, 4});
        if (withNormBias) w.addF32Tensor("output_norm.bias", new long[]{width}, new float[]{-1, 0, 1, 2});
        if (withOutput) {
            float[] out = new float[vocab * width];
            for (int i = 0; i < out.length; i++) out[i] = -i;
            w.addF32Tensor("output.weight", new long[]{width, vocab}, out);
        }
        Path file = dir.resolve(arch + (withOutput ? "" : "-tied") + ".gguf");
        w.write(file);
        return file;
    }

    @Test
    void tiedEmbeddingsAreUsedWhenThereIsNoOutputWeight() throws IOException {
        try (GgufFile tied = GgufFile.open(writeModel("llama", false, false, null, null));
             GgufFile untied = GgufFile.open(writeModel("llama", true, false, null, null))) {
            LensHead a = HeadLookup.fromGguf(tied, F32_ONLY);
            LensHead b = HeadLookup.fromGguf(untied, F32_ONLY);
            assertEquals(6, a.vocabularySize());
            assertEquals(4, a.embeddingLength());
            assertEquals(1.25f, a.output().dequantizeRows(1, 1)[1]);    // token_embd row 1, column 1 = 5 * 0.25
            assertEquals(-5f, b.output().dequantizeRows(1, 1)[1]);      // output.weight
            assertEquals(NormKind.RMS_NORM, a.norm());
            assertEquals(1e-6f, a.epsilon());
            assertArrayEquals(new float[]{1, 2, 3, 4}, a.normWeight());
            assertNull(a.normBias());
            assertTrue(a.logitScale().isEmpty() && a.softcap().isEmpty());
        }
    }

    @Test
    void metadataDrivesNormScaleAndSoftcap() throws IOException {
        try (GgufFile gpt2 = GgufFile.open(writeModel("gpt2", true, true, null, null));
             GgufFile gemma2 = GgufFile.open(writeModel("gemma2", true, false, null, null));
             GgufFile gemma3 = GgufFile.open(writeModel("gemma3", true, false, null, 12.5));
             GgufFile cohere = GgufFile.open(writeModel("command-r", true, false, 0.125, null));
             GgufFile granite = GgufFile.open(writeModel("granite", true, false, 8.0, null))) {
            LensHead ln = HeadLookup.fromGguf(gpt2, F32_ONLY);
            assertEquals(NormKind.LAYER_NORM, ln.norm());
            assertEquals(1e-3f, ln.epsilon());
            assertArrayEquals(new float[]{-1, 0, 1, 2}, ln.normBias());
            assertEquals(30.0, HeadLookup.fromGguf(gemma2, F32_ONLY).softcap().orElseThrow());   // llama.cpp default
            assertEquals(12.5, HeadLookup.fromGguf(gemma3, F32_ONLY).softcap().orElseThrow());
            assertEquals(0.125, HeadLookup.fromGguf(cohere, F32_ONLY).logitScale().orElseThrow());
            assertEquals(0.125, HeadLookup.fromGguf(granite, F32_ONLY).logitScale().orElseThrow()); // granite divides
        }
    }

    @Test
    void missingTensorsAreNamed() throws IOException {
        Path noNorm = dir.resolve("no-norm.gguf");
        new GgufWriter().putString("general.architecture", "llama").putUInt32("llama.block_count", 1)
                .putUInt32("llama.embedding_length", 2).putFloat32("llama.attention.layer_norm_rms_epsilon", 1e-5f)
                .addF32Tensor("output.weight", new long[]{2, 3}, new float[6]).write(noNorm);
        Path noOutput = dir.resolve("no-output.gguf");
        new GgufWriter().putString("general.architecture", "llama").putUInt32("llama.block_count", 1)
                .putUInt32("llama.embedding_length", 2).putFloat32("llama.attention.layer_norm_rms_epsilon", 1e-5f)
                .addF32Tensor("output_norm.weight", new long[]{2}, new float[2]).write(noOutput);
        try (GgufFile a = GgufFile.open(noNorm); GgufFile b = GgufFile.open(noOutput)) {
            GgufException missingNorm = assertThrows(GgufException.class, () -> HeadLookup.fromGguf(a, F32_ONLY));
            assertEquals(noNorm + ": tensor output_norm.weight (the final norm) is missing; cannot build the llama lens head",
                    missingNorm.getMessage());
            GgufException missingOutput = assertThrows(GgufException.class, () -> HeadLookup.fromGguf(b, F32_ONLY));
            assertEquals(noOutput + ": neither output.weight nor token_embd.weight (tied embeddings) is present;"
                    + " cannot build the llama lens head", missingOutput.getMessage());
        }
    }

    @Test
    void stories260KHead() {
        try (GgufFile model = GgufFile.open(Fixtures.stories260K())) {
            LensHead head = HeadLookup.fromGguf(model, F32_ONLY);
            assertEquals("llama", head.architecture());
            assertEquals(NormKind.RMS_NORM, head.norm());
            assertEquals(512, head.vocabularySize());
            assertEquals(64, head.embeddingLength());
            assertEquals(1e-5f, head.epsilon());
            float[] fromFile = model.tensor("output.weight").orElseThrow().data().asSlice(64 * 4 * 7, 64 * 4)
                    .toArray(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN));
            assertArrayEquals(fromFile, head.output().dequantizeRows(7, 1));   // row 7 = token 7
        }
    }
}
