package dev.gguflens.lens;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;
import java.util.OptionalDouble;
import java.util.Random;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The lens over many positions runs in several passes over the output weight, a group of positions each, so its
 * buffers fit the heap; the result must be exactly the one-pass result: every record, the consistency per
 * position, the milestones, the kept last-position rows (same block size, so the same summation order) and the head
 * check, which rides in the last pass and equals the standalone check.
 */
class LensPassesTest {
    private static final int LAYERS = 4, POSITIONS = 7, WIDTH = 32, VOCAB = 300;

    @ParameterizedTest
    @CsvSource({"NORM, 1", "NORM, 3", "RAW, 2", "RMS, 6"})
    void passesOfPositionsGiveTheOnePassResult(LensKind kind, int perPass) {
        Random random = new Random(perPass);
        LensHead head = TestHeads.randomHead(random, NormKind.RMS_NORM, VOCAB, WIDTH, true,
                OptionalDouble.empty(), OptionalDouble.empty());
        float[][][] raw = TestHeads.randomStates(random, LAYERS, POSITIONS, WIDTH);
        LayerStates states = LayerStates.of(raw);
        int[] positions = {0, 2, 3, 4, 5, 6};
        float[][] reference = IntStream.range(0, positions.length)
                .mapToObj(i -> TestHeads.gaussian(random, VOCAB, 3.0)).toArray(float[][]::new);
        LensRequest request = new LensRequest(kind, 4, positions, List.of(new TrackedToken("x", 17), new TrackedToken("y", 3)),
                reference, new int[] {5, 17, 40}, id -> id != 40).keepingLastPositionLogProbs().checkingHead();

        LensResult one = LogitLens.inPasses(head, states, request, 2, 64, Integer.MAX_VALUE);
        LensResult passes = LogitLens.inPasses(head, states, request, 2, 64, perPass);

        assertArrayEquals(positions, passes.positions());
        assertEquals(one.records(), passes.records());
        assertEquals(one.consistency(), passes.consistency());
        assertEquals(positions.length, passes.consistency().size());
        assertEquals(one.milestones(), passes.milestones());
        assertEquals(LAYERS, passes.lastPositionLogProbs().length);
        for (int layer = 0; layer < LAYERS; layer++) {
            assertArrayEquals(one.lastPositionLogProbs()[layer], passes.lastPositionLogProbs()[layer], "layer " + layer);
        }
        HeadConsistency alone = HeadConsistency.of(head, raw[LAYERS - 1][positions[positions.length - 1]],
                reference[positions.length - 1], 2);
        assertEquals(alone, one.headCheck());
        assertEquals(alone, passes.headCheck());
        LensRequest plain = new LensRequest(kind, 4, positions, List.of());
        LensResult plainResult = LogitLens.inPasses(head, states, plain, 2, 64, perPass);
        assertNull(plainResult.lastPositionLogProbs());
        assertNull(plainResult.headCheck());
    }

    /**
     * --timings' bare product makes the lens's own products: the same vectors per pass and the same vocabulary
     * blocks (the tracked tokens' one-row products aside), so lens minus bare product is what the rest adds.
     */
    @ParameterizedTest
    @CsvSource({"NORM, 1, false", "NORM, 300, false", "RAW, 300, false", "RMS, 40, false", "NORM, 1, true", "RAW, 300, true"})
    void theBareProductRunsTheLensBlocks(LensKind kind, int positionCount, boolean checkHead) {
        Random random = new Random(positionCount);
        int vocab = 5000, width = 8;
        LensHead real = TestHeads.randomHead(random, NormKind.RMS_NORM, vocab, width, false,
                OptionalDouble.empty(), OptionalDouble.empty());
        List<String> calls = new java.util.ArrayList<>();
        LogitProjection recording = new LogitProjection() {
            public int rows() { return vocab; }
            public int columns() { return width; }
            public void multiply(float[] x, int m, int rowStart, int rowEnd, float[] y, int threads) {
                if (rowEnd - rowStart > 1) calls.add(m + " x [" + rowStart + ", " + rowEnd + ")");
                real.output().multiply(x, m, rowStart, rowEnd, y, threads);
            }
            public float[] dequantizeRows(int rowStart, int rowCount) { return real.output().dequantizeRows(rowStart, rowCount); }
        };
        LensHead head = real.withOutput(recording);
        int[] positions = IntStream.range(0, positionCount).toArray();
        float[][] reference = IntStream.range(0, positionCount).mapToObj(i -> TestHeads.gaussian(random, vocab, 3.0)).toArray(float[][]::new);
        LensRequest request = new LensRequest(kind, 3, positions, List.of(new TrackedToken("x", 17)), reference, new int[] {5}, id -> true);
        if (checkHead) request = request.checkingHead();
        LogitLens.run(head, LayerStates.of(TestHeads.randomStates(random, LAYERS, positionCount, width)), request, 1);
        List<String> lens = List.copyOf(calls);
        calls.clear();
        LogitLens.bareProductNanos(head, LAYERS, request, 1);
        assertEquals(lens, calls);
        assertTrue(lens.size() > 1 || positionCount < 300, "several blocks at 300 positions: " + lens);
    }

    @ParameterizedTest
    @CsvSource({"37, 4096, 583008256, 187", "37, 4096, 6442450944, 2069", "2, 64, 1048576, 20", "37, 4096, 1024, 1"})
    void aPassHoldsAQuarterOfTheHeap(int layers, int width, long heap, int expected) {
        // Qwen3-8B with the launcher's heap (556 MiB): 187 positions a pass; 11-token prompts take one.
        assertEquals(expected, LogitLens.positionsPerPass(layers, width, heap));
    }
}
