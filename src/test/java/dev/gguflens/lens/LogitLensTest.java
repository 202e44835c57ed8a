package dev.gguflens.lens;

import dev.gguflens.lens.LensResult.LayerRecord;
import dev.gguflens.lens.LensResult.PositionConsistency;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import dev.gguflens.gguf.GgmlType;
import dev.gguflens.gguf.GgufFile;
import dev.gguflens.testmodels.Fixtures;
import dev.gguflens.quant.Quantizer;
import dev.gguflens.quant.WeightMatrix;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

import java.util.List;
import java.util.OptionalDouble;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The streaming lens against the naive double-precision {@link ReferenceLens}. */
class LogitLensTest {
    private static final int LAYERS = 5;
    private static final int POSITIONS = 4;
    private static final int WIDTH = 48;
    private static final int VOCAB = 517;   // not a multiple of any block size used

    @ParameterizedTest(name = "{0} {1} biases={2} scale={3} softcap={4} block={5}")
    @CsvSource({
            "NORM, RMS_NORM,   false, 0,   0,    0",
            "NORM, RMS_NORM,   false, 0,   0,    64",
            "NORM, LAYER_NORM, true,  0,   0,    100",
            "RAW,  RMS_NORM,   false, 0,   0,    0",
            "RAW,  LAYER_NORM, true,  0.5, 0,    37",
            "RMS,  RMS_NORM,   false, 0,   0,    0",
            "RMS,  LAYER_NORM, true,  0,   0,    1",
            "NORM, RMS_NORM,   true,  2.0, 5.0,  128",
            "RAW,  RMS_NORM,   false, 0,   3.0,  50",
    })
    void matchesReference(LensKind kind, NormKind norm, boolean biases, double scale, double softcap, int block) {
        Random random = new Random(kind.ordinal() * 31L + norm.ordinal() * 7L + block);
        LensHead head = TestHeads.randomHead(random, norm, VOCAB, WIDTH, biases,
                scale == 0 ? OptionalDouble.empty() : OptionalDouble.of(scale),
                softcap == 0 ? OptionalDouble.empty() : OptionalDouble.of(softcap));
        float[][][] states = TestHeads.randomStates(random, LAYERS, POSITIONS, WIDTH);
        assertMatchesReference(head, states, kind, block, 1);
    }

    /** Quantised output weights through the fused kernels, against the double-precision lens on the dequantised rows. */
    @ParameterizedTest(name = "{0} {1} threads={2}")
    @CsvSource({"F32, NORM, 1", "F16, RMS, 2", "Q8_0, NORM, 1", "Q8_0, RAW, 2", "Q4_0, NORM, 2", "Q4_0, RMS, 1"})
    void quantisedWeightsMatchReference(GgmlType type, LensKind kind, int threads) {
        Random random = new Random(type.ordinal() * 13L + kind.ordinal());
        int width = 64;
        LensHead dense = TestHeads.randomHead(random, NormKind.RMS_NORM, VOCAB, width, true,
                OptionalDouble.empty(), OptionalDouble.empty());
        float[] weights = dense.output().dequantizeRows(0, VOCAB);
        byte[] blocks = Quantizer.quantize(type, weights, width);
        LensHead head = new LensHead("test", dense.norm(), dense.normWeight(), dense.normBias(), dense.epsilon(),
                LogitProjection.of(new WeightMatrix(type, MemorySegment.ofArray(blocks), VOCAB, width)),
                dense.outputBias(), dense.logitScale(), dense.softcap());
        float[] dequantised = head.output().dequantizeRows(0, VOCAB);
        if (type != GgmlType.F32) assertFalse(Arrays.equals(weights, dequantised), "quantisation changed nothing");
        assertMatchesReference(head, TestHeads.randomStates(random, LAYERS, POSITIONS, width), kind, 100, threads);
    }

    /** The real model's head (F32 through the fused kernels) on random states. */
    @Test
    void stories260KHeadMatchesReference() {
        try (GgufFile model = GgufFile.open(Fixtures.stories260K())) {
            LensHead head = HeadLookup.fromGguf(model);
            float[][][] states = TestHeads.randomStates(new Random(260), 6, POSITIONS, head.embeddingLength());
            assertMatchesReference(head, states, LensKind.NORM, 0, 2);
            assertMatchesReference(head, states, LensKind.RAW, 128, 1);
        }
    }

    /**
     * The tracked-token pre-pass multiplies single rows; ranks are only exact if a row's logit does not depend on
     * the row range it was computed in. Pin that for the fused kernels.
     */
    @ParameterizedTest
    @CsvSource({"F32", "Q8_0", "Q4_0"})
    void singleRowProductsEqualBlockProducts(GgmlType type) {
        Random random = new Random(3);
        int rows = 37, width = 64, m = 5;
        WeightMatrix w = new WeightMatrix(type, MemorySegment.ofArray(
                Quantizer.quantize(type, TestHeads.gaussian(random, rows * width, 0.3), width)), rows, width);
        float[] x = TestHeads.gaussian(random, m * width, 1.0);
        float[] all = new float[m * rows];
        LogitProjection.of(w).multiply(x, m, 0, rows, all, 1);
        float[] one = new float[m];
        for (int r = 0; r < rows; r++) {
            LogitProjection.of(w).multiply(x, m, r, r + 1, one, 1);
            for (int i = 0; i < m; i++) assertEquals(all[i * rows + r], one[i], 0f, "row " + r + " vector " + i);
        }
    }

    private static void assertMatchesReference(LensHead head, float[][][] states, LensKind kind, int block, int threads) {
        int layers = states.length;
        int vocab = head.vocabularySize();
        int[] positions = {3, 0, 2};
        List<TrackedToken> tracked = List.of(new TrackedToken("a", 17), new TrackedToken("b", vocab - 1));
        LensRequest request = new LensRequest(kind, 5, positions, tracked);

        LensResult result = LogitLens.run(head, LayerStates.of(states), request, threads, block);
        ReferenceLens reference = new ReferenceLens(head);

        for (int i = 0; i < positions.length; i++) {
            double[] finalLogits = reference.logits(LensKind.NORM, states[layers - 1][positions[i]]);
            for (int layer = 0; layer < layers; layer++) {
                float[] h = states[layer][positions[i]];
                double[] z = reference.logits(kind, h);
                LayerRecord rec = result.record(layer, i);
                String where = "layer " + layer + " position " + positions[i];
                assertEquals(layer, rec.layer());
                assertEquals(positions[i], rec.position());
                int[] expectedTop = ReferenceLens.topIds(z, 5);
                int[] actualTop = rec.topK().stream().mapToInt(LensResult.TokenProbability::id).toArray();
                assertEquals(5, Arrays.stream(actualTop).distinct().count(), where);
                for (int k = 0; k < 5; k++) {
                    // A float32 lens may order a near-tie the other way round than the double reference (the
                    // summation order differs with the vector width); the k-th id's logit must still be the k-th.
                    assertEquals(z[expectedTop[k]], z[actualTop[k]], tie(z[expectedTop[k]]),
                            where + ": top-" + (k + 1) + " is " + actualTop[k] + ", expected " + expectedTop[k]);
                    assertEquals(ReferenceLens.probability(z, actualTop[k]), rec.topK().get(k).probability(), 1e-5, where);
                }
                double entropy = ReferenceLens.entropyNats(z);
                assertEquals(entropy, rec.entropyNats(), 1e-5 * Math.max(1, entropy), where);
                assertEquals(entropy / Math.log(2), rec.entropyBits(), 1e-5 * Math.max(1, entropy), where);
                double kl = ReferenceLens.klNats(z, finalLogits) / Math.log(2);
                assertEquals(kl, rec.klToFinalBits(), 1e-5 * Math.max(1, kl), where);
                assertEquals(ReferenceLens.cosine(z, finalLogits), rec.cosToFinal(), 1e-6, where);
                double norm2 = 0;
                for (float v : h) norm2 += (double) v * v;
                assertEquals(Math.sqrt(norm2), rec.residualNorm(), 1e-9 * Math.sqrt(norm2), where);
                for (int t = 0; t < tracked.size(); t++) {
                    int id = tracked.get(t).id();
                    assertEquals(id, rec.tracked().get(t).id());
                    assertEquals(tracked.get(t).text(), rec.tracked().get(t).text());
                    int rank = rec.tracked().get(t).rank();
                    assertTrue(rank >= ReferenceLens.rank(z, id, tie(z[id])) && rank <= ReferenceLens.rank(z, id, -tie(z[id])),
                            where + " token " + id + ": rank " + rank + ", reference " + ReferenceLens.rank(z, id));
                    assertEquals(ReferenceLens.probability(z, id), rec.tracked().get(t).probability(), 1e-5, where);
                }
            }
        }
        if (kind == LensKind.NORM) {
            for (int i = 0; i < positions.length; i++) assertEquals(0.0, result.record(layers - 1, i).klToFinalBits());
        }
    }

    /** How far apart float32 and double logits may be: relative 1e-5, a few hundred float roundings. */
    private static double tie(double logit) {
        return 1e-5 * Math.max(1, Math.abs(logit));
    }

    @Test
    void threadsDoNotChangeTheResult() {
        Random random = new Random(5);
        LensHead head = TestHeads.randomHead(random, NormKind.RMS_NORM, VOCAB, WIDTH, true,
                OptionalDouble.empty(), OptionalDouble.of(4.0));
        LayerStates states = LayerStates.of(TestHeads.randomStates(random, LAYERS, POSITIONS, WIDTH));
        LensRequest request = new LensRequest(LensKind.RMS, 3, new int[]{0, 1, 2, 3}, List.of(new TrackedToken("x", 4)));
        LensResult one = LogitLens.run(head, states, request, 1, 64);
        LensResult three = LogitLens.run(head, states, request, 3, 64);
        assertEquals(one.records(), three.records());
    }

    @ParameterizedTest
    @CsvSource({"false", "true"})
    void equalLogitsShareTheBetterRankAndListLowerIdFirst(boolean fusedQ8) {
        // Rows 2, 5 and 9 of the output weight are identical, so their logits are bit-identical.
        int vocab = 12, width = 32;
        Random random = new Random(11);
        float[] weight = TestHeads.gaussian(random, vocab * width, 0.1f);
        float[] strong = new float[width];
        Arrays.fill(strong, 3f);
        for (int row : new int[]{2, 5, 9}) System.arraycopy(strong, 0, weight, row * width, width);
        float[] gamma = new float[width];
        Arrays.fill(gamma, 1f);
        LogitProjection output = fusedQ8
                ? LogitProjection.of(new WeightMatrix(GgmlType.Q8_0,
                        MemorySegment.ofArray(Quantizer.quantize(GgmlType.Q8_0, weight, width)), vocab, width))
                : LogitProjection.ofRowMajor(weight, vocab, width);
        LensHead head = new LensHead("test", NormKind.RMS_NORM, gamma, null, 1e-6f, output, null,
                OptionalDouble.empty(), OptionalDouble.empty());
        float[] ones = new float[width];
        Arrays.fill(ones, 1f);
        float[][][] states = {{ones}};
        LensRequest request = new LensRequest(LensKind.NORM, 4, new int[]{0},
                List.of(new TrackedToken("nine", 9), new TrackedToken("five", 5)));
        for (int block : new int[]{1, 3, 0}) {
            LayerRecord rec = LogitLens.run(head, LayerStates.of(states), request, 1, block).record(0, 0);
            assertArrayEquals(new int[]{2, 5, 9}, rec.topK().stream().limit(3).mapToInt(LensResult.TokenProbability::id).toArray());
            assertEquals(rec.topK().get(0).probability(), rec.topK().get(2).probability());
            assertEquals(1, rec.tracked().get(0).rank());
            assertEquals(1, rec.tracked().get(1).rank());
        }
    }

    @Test
    void entropyOfANearDeltaIsZeroNotNegative() {
        int size = 9;
        LensHead head = TestHeads.identityHead(size, OptionalDouble.empty(), OptionalDouble.empty());
        float[] delta = new float[size];
        delta[4] = 1000f;
        float[] sharp = new float[size];
        sharp[0] = 30f;
        sharp[8] = 29f;
        float[] flat = new float[size];
        float[][][] states = {{delta, sharp, flat}};
        LensRequest request = new LensRequest(LensKind.RAW, 2, new int[]{0, 1, 2}, List.of());
        for (int block : new int[]{1, 2, 0}) {
            LensResult result = LogitLens.run(head, LayerStates.of(states), request, 1, block);
            LayerRecord d = result.record(0, 0);
            assertEquals(0.0, d.entropyNats(), 0.0);
            assertEquals(1.0, d.topK().getFirst().probability(), 0.0);
            assertEquals(4, d.topK().getFirst().id());
            double[] sharpLogits = new double[size];
            for (int i = 0; i < size; i++) sharpLogits[i] = sharp[i];
            double expected = ReferenceLens.entropyNats(sharpLogits);
            assertTrue(expected > 0.5 && expected < 0.7, "sanity: two-way split entropy " + expected);
            assertEquals(expected, result.record(0, 1).entropyNats(), 1e-12);
            assertEquals(Math.log(size), result.record(0, 2).entropyNats(), 1e-12);
            for (LayerRecord rec : result.records()) assertTrue(rec.entropyNats() >= 0, rec.toString());
        }
    }

    @Test
    void consistencyAgainstReferenceLogits() {
        Random random = new Random(21);
        LensHead head = TestHeads.randomHead(random, NormKind.RMS_NORM, VOCAB, WIDTH, false,
                OptionalDouble.empty(), OptionalDouble.empty());
        float[][][] states = TestHeads.randomStates(random, LAYERS, POSITIONS, WIDTH);
        ReferenceLens reference = new ReferenceLens(head);
        int[] positions = {1, 3};
        float[][] given = new float[positions.length][];
        double[][] finals = new double[positions.length][];
        for (int i = 0; i < positions.length; i++) {
            finals[i] = reference.logits(LensKind.NORM, states[LAYERS - 1][positions[i]]);
            given[i] = new float[VOCAB];
            for (int r = 0; r < VOCAB; r++) given[i][r] = (float) finals[i][r];
        }
        // Position 3: llama.cpp "disagrees" - one token pushed far up.
        int pushed = 123;
        given[1][pushed] += 40f;
        LensRequest request = new LensRequest(LensKind.RAW, 3, positions, List.of(), given, null, null);
        List<PositionConsistency> consistency = LogitLens.run(head, LayerStates.of(states), request, 2, 100).consistency();
        assertEquals(2, consistency.size());
        PositionConsistency same = consistency.get(0);
        assertAll(() -> assertEquals(1, same.position()),
                () -> assertEquals(0.0, same.klBits(), 1e-6),
                () -> assertTrue(same.maxAbsLogitDiff() < 1e-4, "diff " + same.maxAbsLogitDiff()),
                () -> assertTrue(same.top1Agree()));
        PositionConsistency off = consistency.get(1);
        double[] givenDouble = new double[VOCAB];
        for (int r = 0; r < VOCAB; r++) givenDouble[r] = given[1][r];
        assertAll(() -> assertEquals(3, off.position()),
                () -> assertEquals(ReferenceLens.klNats(givenDouble, finals[1]) / Math.log(2), off.klBits(), 1e-5),
                () -> assertEquals(40.0, off.maxAbsLogitDiff(), 1e-4),
                () -> assertEquals(pushed, off.referenceTop1()),
                () -> assertEquals(ReferenceLens.topIds(finals[1], 1)[0], off.lensTop1()),
                () -> assertEquals(off.referenceTop1() == off.lensTop1(), off.top1Agree()));
    }

    @Test
    void badInputIsRejectedWithAClearMessage() {
        LensHead head = TestHeads.identityHead(4, OptionalDouble.empty(), OptionalDouble.empty());
        LayerStates states = LayerStates.of(new float[][][]{{{1, 2, 3, 4}}});
        IllegalArgumentException position = assertThrows(IllegalArgumentException.class, () ->
                LogitLens.run(head, states, new LensRequest(LensKind.NORM, 1, new int[]{2}, List.of()), 1));
        assertEquals("position 2 is outside the 1 captured positions", position.getMessage());
        IllegalArgumentException token = assertThrows(IllegalArgumentException.class, () ->
                LogitLens.run(head, states, new LensRequest(LensKind.NORM, 1, new int[]{0},
                        List.of(new TrackedToken("far", 4))), 1));
        assertEquals("tracked token 'far' has id 4, beyond the vocabulary of 4", token.getMessage());
        LayerStates wide = LayerStates.of(new float[][][]{{{1, 2, 3}}});
        IllegalArgumentException width = assertThrows(IllegalArgumentException.class, () ->
                LogitLens.run(head, wide, new LensRequest(LensKind.NORM, 1, new int[]{0}, List.of()), 1));
        assertEquals("layer states have width 3 but the test head expects n_embd 4", width.getMessage());
        LayerStates nan = LayerStates.of(new float[][][]{{{1, Float.NaN, 3, 4}}});
        IllegalArgumentException finite = assertThrows(IllegalArgumentException.class, () ->
                LogitLens.run(head, nan, new LensRequest(LensKind.RAW, 1, new int[]{0}, List.of()), 1));
        assertEquals("layer 0 position 0: residual state has a non-finite value (NaN)", finite.getMessage());
    }
}
