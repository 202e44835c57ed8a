package dev.gguflens.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.gguflens.gguf.GgmlType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Weights from any arena: a thread-confined segment is multiplied on its owner's thread (never handed to the
 * pool), with the same bits as a heap copy at any thread count; a closed or foreign-thread segment is refused
 * with an exception before any kernel reads it by address.
 */
class FusedMatmulArenaTest {
    private static final int ROWS = 41, COLS = 512;

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"F32", "F16", "BF16", "Q8_0", "Q4_K", "Q6_K"})
    void confinedWeightsGiveTheHeapCopysBits(GgmlType type) {
        Random rnd = new Random(41 + type.ordinal());
        byte[] raw = QuantTestData.randomBlocks(type, ROWS * COLS / type.blockSize, rnd);
        WeightMatrix heap = new WeightMatrix(type, MemorySegment.ofArray(raw), ROWS, COLS);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment data = arena.allocate(raw.length, 64);
            MemorySegment.copy(raw, 0, data, ValueLayout.JAVA_BYTE, 0, raw.length);
            WeightMatrix confined = new WeightMatrix(type, data, ROWS, COLS);
            for (int m : new int[] {1, 3}) {
                float[] x = QuantTestData.gaussian(m * COLS, rnd);
                float[] expected = new float[m * ROWS];
                FusedMatmul.multiply(heap, x, m, expected, 1);
                for (int threads : new int[] {1, 3}) {
                    float[] y = new float[m * ROWS];
                    FusedMatmul.multiply(confined, x, m, y, threads);
                    assertArrayEquals(expected, y, type + " m=" + m + " threads=" + threads);
                }
            }
        }
    }

    @Test
    void closedOrForeignSegmentsAreRefused() throws Exception {
        float[] x = new float[64];
        float[] y = new float[4];
        Arena closed = Arena.ofConfined();
        WeightMatrix gone = new WeightMatrix(GgmlType.Q8_0, closed.allocate(4 * GgmlType.Q8_0.rowBytes(64)), 4, 64);
        closed.close();
        assertThrows(IllegalStateException.class, () -> FusedMatmul.multiply(gone, x, 1, y, 2));

        try (Arena arena = Arena.ofConfined()) {
            WeightMatrix mine = new WeightMatrix(GgmlType.Q8_0, arena.allocate(4 * GgmlType.Q8_0.rowBytes(64)), 4, 64);
            CompletableFuture<Void> elsewhere = CompletableFuture.runAsync(() -> FusedMatmul.multiply(mine, x, 1, y, 1));
            ExecutionException e = assertThrows(ExecutionException.class, elsewhere::get);
            assertThrows(WrongThreadException.class, () -> { throw e.getCause(); });
        }
    }
}
