package dev.gguflens.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gguflens.gguf.GgmlType;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Dequantisation against gguf-py (gguf.quants.dequantize of the pinned llama.cpp) on random blocks with
 * edge-case scales (+-0, f16 max, f16 min normal/subnormal, random bit patterns, all-0x00/all-0xFF blocks).
 *
 * <p>Tolerance: EXACT (bitwise float32) for every type. gguf-py computes all of these in float32 with the
 * same operation order as ggml's dequantize_row_* (d*sc first, then *q, then -m; no fused multiply-add),
 * and numpy's f16->f32 conversion is exact like Float.float16ToFloat, so no 1-ulp allowance is needed.
 */
class DequantizeReferenceTest {

    static Stream<GgmlType> requiredTypes() {
        return QuantTestData.REQUIRED.stream();
    }

    @ParameterizedTest
    @MethodSource("requiredTypes")
    void bitwiseEqualToGgufPy(GgmlType type) {
        byte[] blocks = QuantTestData.resource(type + ".blocks.raw");
        float[] expected = QuantTestData.floats(QuantTestData.resource(type + ".dequant.f32"));
        assertEquals(blocks.length / type.typeSize * type.blockSize, expected.length, "reference file sizes");

        float[] actual = new float[expected.length];
        Kernels.dequantize(type, MemorySegment.ofArray(blocks), 0, actual, 0, actual.length);
        assertNull(QuantTestData.firstDifference(expected, actual), type + " differs from gguf-py");
    }

    @ParameterizedTest
    @MethodSource("requiredTypes")
    void offsetsAndRowsSelectTheRightBlocks(GgmlType type) {
        byte[] blocks = QuantTestData.resource(type + ".blocks.raw");
        float[] expected = QuantTestData.floats(QuantTestData.resource(type + ".dequant.f32"));
        // Skip the first two blocks in the source and write at offset 5 of a larger array.
        int skip = 2 * type.blockSize;
        int n = expected.length - skip - type.blockSize;
        float[] dst = new float[n + 7];
        Arrays.fill(dst, Float.NaN);
        Kernels.dequantize(type, MemorySegment.ofArray(blocks), 2L * type.typeSize, dst, 5, n);
        assertArrayEquals(Arrays.copyOfRange(expected, skip, skip + n), Arrays.copyOfRange(dst, 5, 5 + n));
        assertTrue(Float.isNaN(dst[4]) && Float.isNaN(dst[5 + n]), "wrote outside [dstOffset, dstOffset+n)");

        // The same data seen as a matrix: rows 1..2 of rows of 2 blocks.
        int cols = 2 * type.blockSize;
        WeightMatrix w = new WeightMatrix(type, MemorySegment.ofArray(blocks), expected.length / cols, cols);
        float[] rows = Kernels.dequantizeRows(w, 1, 2);
        assertArrayEquals(Arrays.copyOfRange(expected, cols, 3 * cols), rows);
    }

    @Test
    void everyRequiredTypeIsSupported() {
        for (GgmlType t : QuantTestData.REQUIRED) assertTrue(Kernels.supports(t), t + " must be supported");
        Kernels.requireSupported(GgmlType.Q6_K, "output.weight");
    }

    @Test
    void unsupportedTypesFailWithOneClearLine() {
        for (GgmlType t : GgmlType.values()) {
            if (QuantTestData.REQUIRED.contains(t)) continue;
            assertFalse(Kernels.supports(t), t + " has no kernel and must not claim support");
            var e = assertThrows(UnsupportedTypeException.class, () -> Kernels.requireSupported(t, "output.weight"));
            assertEquals("tensor 'output.weight': type " + t + " is not supported by gguf-lens kernels", e.getMessage());
            assertThrows(UnsupportedTypeException.class,
                    () -> Kernels.dequantize(t, MemorySegment.ofArray(new byte[1024]), 0, new float[1024], 0, t.blockSize));
            var w = new WeightMatrix(t, MemorySegment.ofArray(new byte[4 * t.typeSize]), 1, 4 * t.blockSize);
            assertThrows(UnsupportedTypeException.class,
                    () -> FusedMatmul.multiply(w, new float[w.cols()], 1, new float[1], 1));
        }
    }

    @Test
    void weightMatrixFromGgufTensor() {
        byte[] blocks = QuantTestData.resource("Q6_K.blocks.raw");
        var seg = MemorySegment.ofArray(blocks);
        var t = new dev.gguflens.gguf.GgufTensor("blk.0.ffn_down.weight", GgmlType.Q6_K, new long[] {512, 5}, 0, blocks.length, seg);
        WeightMatrix w = WeightMatrix.of(t);
        assertEquals(5, w.rows());
        assertEquals(512, w.cols());
        var bad = new dev.gguflens.gguf.GgufTensor("output.weight", GgmlType.Q8_K, new long[] {256, 1}, 0, 292, MemorySegment.ofArray(new byte[292]));
        var e = assertThrows(UnsupportedTypeException.class, () -> WeightMatrix.of(bad));
        assertEquals("tensor 'output.weight': type Q8_K is not supported by gguf-lens kernels", e.getMessage());
    }

    @Test
    void badArgumentsAreRejected() {
        var seg = MemorySegment.ofArray(new byte[34 * 4]);
        var e = assertThrows(IllegalArgumentException.class, () -> new WeightMatrix(GgmlType.Q8_0, seg, 2, 48));
        assertEquals("weight matrix: cols 48 is not a multiple of the Q8_0 block size 32", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new WeightMatrix(GgmlType.Q8_0, seg, 3, 64));
        assertEquals("weight matrix: 3 x 64 Q8_0 needs 204 bytes but the data holds 136", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Kernels.dequantize(GgmlType.Q8_0, seg, 0, new float[64], 0, 40));
        assertEquals("dequantize Q8_0: element count 40 is not a non-negative multiple of the block size 32", e.getMessage());
        assertThrows(IndexOutOfBoundsException.class,
                () -> Kernels.dequantize(GgmlType.Q8_0, seg, 34, new float[128], 0, 128));
    }
}
