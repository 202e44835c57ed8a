package dev.gguflens.lens;

import dev.gguflens.gguf.GgmlType;
import dev.gguflens.gguf.GgufFile;
import dev.gguflens.gguf.GgufWriter;
import dev.gguflens.llama.RandomWeights;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalDouble;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/** The warm-up runs the lens on its own synthetic head, leaves the real head's results unchanged and stops when asked. */
class LensWarmupTest {
    /**
     * The synthetic blocks leave the real blocks' remainders modulo both m > 1 paths' tiles (64-row grabs, 48-row
     * column-lane tiles), so the same partial tiles and tail kernels run.
     */
    @Test
    void syntheticBlocksHaveTheRealRemainders() {
        int[][] cases = {{151936, 8192}, {151936, 5017}, {128256, 8192}, {256000, 2731}, {32000, 6553}, {49152, 8192}, {50257, 1024}};
        for (int[] c : cases) {
            int vocab = c[0], realBlock = c[1];
            int realLast = vocab - (Math.ceilDiv(vocab, realBlock) - 1) * realBlock;
            LensWarmup.Blocks b = LensWarmup.Blocks.of(vocab, realBlock);
            int last = b.rows() - 2 * b.block();
            String what = vocab + " rows in blocks of " + realBlock + ": " + b;
            for (int tile : new int[] {64, 48}) {
                assertEquals(realBlock % tile, b.block() % tile, what);
                assertEquals(realLast % tile, last % tile, what);
            }
            assertTrue(last >= 1 && last <= b.block() && b.block() >= 128 && b.rows() <= vocab, what);
            assertTrue(b.trackedAt() >= b.block() && b.trackedAt() < 2 * b.block(), "tracked tokens in the middle block: " + what);
        }
        LensWarmup.Blocks single = LensWarmup.Blocks.of(4000, 8192);
        assertEquals(single.rows(), single.block(), "one real block, one synthetic block");
        assertEquals(4000 % 64, single.rows() % 64);
        assertEquals(4000 % 48, single.rows() % 48);
    }

    @Test
    void warmingLeavesTheRealLensUnchangedAndStopsWhenTheLensStarts(@TempDir Path dir) throws Exception {
        int rows = 300, cols = 512;
        Path file = dir.resolve("head.gguf");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment w = RandomWeights.allocate(arena, GgmlType.Q6_K, rows, cols, 5);
            new GgufWriter().addTensor("output.weight", GgmlType.Q6_K, new long[] {cols, rows}, w).write(file);
        }
        try (GgufFile g = GgufFile.open(file)) {
            var tensor = g.tensor("output.weight").orElseThrow();
            assertTrue(tensor.data().isMapped(), "a GGUF tensor is a slice of the file's mapping, so prefetch can load it");
            float[] gamma = new float[cols];
            java.util.Arrays.fill(gamma, 1.1f);
            LensHead head = new LensHead("qwen3", NormKind.RMS_NORM, gamma, null, 1e-6f, LogitProjection.of(
                    new dev.gguflens.quant.WeightMatrix(GgmlType.Q6_K, tensor.data(), rows, cols)), null,
                    OptionalDouble.empty(), OptionalDouble.empty());
            float[][][] states = new float[3][2][cols];
            SplittableRandom r = new SplittableRandom(1);
            for (float[][] l : states) for (float[] p : l) for (int i = 0; i < cols; i++) p[i] = (float) r.nextGaussian();
            LensRequest request = new LensRequest(LensKind.NORM, 5, new int[] {0, 1}, List.of(new TrackedToken("x", 7)));
            LensResult before = LogitLens.run(head, LayerStates.of(states), request, 2);

            LensWarmup warmup = LensWarmup.start(head, new LensWarmup.Expectation(LensKind.NORM, 5, 3, 1, 1, false), 1, true, false);
            long deadline = System.nanoTime() + 120_000_000_000L;
            while (warmup.runs() == 0 && System.nanoTime() < deadline) Thread.sleep(10);
            assertTrue(warmup.runs() > 0, "the synthetic lens ran");
            // The prompt is known: the real shape (two positions, a RAW lens keeping the last position) is warmed next.
            int before2 = warmup.runs();
            warmup.expect(new LensWarmup.Expectation(LensKind.RAW, 5, 3, 2, 2, true));
            while (warmup.runs() == before2 && System.nanoTime() < deadline) Thread.sleep(10);
            assertTrue(warmup.runs() > before2, "the new expectation ran");
            // The run's further lenses (a sub-layer lens, sequence mode's answers) are warmed in turn after the first.
            int shapes = warmup.shapesRun();
            warmup.expect(List.of(new LensWarmup.Expectation(LensKind.RAW, 5, 3, 2, 2, true),
                    new LensWarmup.Expectation(LensKind.RAW, 5, 2, 2, 2, false, true, false),
                    new LensWarmup.Expectation(LensKind.RAW, 1, 3, 3, 3, false, false, false)));
            while (warmup.shapesRun() < shapes + 3 && System.nanoTime() < deadline) Thread.sleep(10);
            assertEquals(shapes + 3, warmup.shapesRun(), "each expected shape ran");
            long stopAsked = System.nanoTime();
            warmup.await();
            assertTrue(warmup.runs() < 300 || System.nanoTime() - stopAsked < 60_000_000_000L, "await stops it");
            assertFalse(warmup.isRunning());

            LensResult after = LogitLens.run(head, LayerStates.of(states), request, 2);
            for (int layer = 0; layer < 3; layer++) {
                for (int p = 0; p < 2; p++) {
                    assertEquals(before.record(layer, p).entropyNats(), after.record(layer, p).entropyNats(), 0.0);
                    assertEquals(before.record(layer, p).tracked().getFirst().rank(), after.record(layer, p).tracked().getFirst().rank());
                }
            }
        }
    }
}
