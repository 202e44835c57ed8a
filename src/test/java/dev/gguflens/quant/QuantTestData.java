package dev.gguflens.quant;

import dev.gguflens.gguf.GgmlType;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import static java.util.Map.entry;

/** Loads the gguf-py reference files and makes random, NaN-free block data for the kernel tests. */
final class QuantTestData {
    /** Every type the issue asks for; all of them must be supported. */
    static final List<GgmlType> REQUIRED = List.of(GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q4_0,
            GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q8_0, GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K,
            GgmlType.Q5_K, GgmlType.Q6_K, GgmlType.IQ4_NL, GgmlType.IQ4_XS, GgmlType.IQ2_XXS, GgmlType.IQ2_XS,
            GgmlType.IQ2_S, GgmlType.IQ3_XXS, GgmlType.IQ3_S, GgmlType.IQ1_S, GgmlType.IQ1_M, GgmlType.TQ1_0,
            GgmlType.TQ2_0, GgmlType.MXFP4);

    /** Byte offsets of f16 scale fields inside a block (same table as scripts/gen-quant-reference.py). */
    private static final Map<GgmlType, int[]> F16_FIELDS = Map.ofEntries(
            entry(GgmlType.Q4_0, new int[] {0}), entry(GgmlType.Q4_1, new int[] {0, 2}),
            entry(GgmlType.Q5_0, new int[] {0}), entry(GgmlType.Q5_1, new int[] {0, 2}),
            entry(GgmlType.Q8_0, new int[] {0}), entry(GgmlType.Q2_K, new int[] {80, 82}),
            entry(GgmlType.Q3_K, new int[] {108}), entry(GgmlType.Q4_K, new int[] {0, 2}),
            entry(GgmlType.Q5_K, new int[] {0, 2}), entry(GgmlType.Q6_K, new int[] {208}),
            entry(GgmlType.IQ4_NL, new int[] {0}), entry(GgmlType.IQ4_XS, new int[] {0}),
            entry(GgmlType.IQ2_XXS, new int[] {0}), entry(GgmlType.IQ2_XS, new int[] {0}),
            entry(GgmlType.IQ2_S, new int[] {0}), entry(GgmlType.IQ3_XXS, new int[] {0}),
            entry(GgmlType.IQ3_S, new int[] {0}), entry(GgmlType.IQ1_S, new int[] {0}),
            entry(GgmlType.IQ1_M, new int[0]), entry(GgmlType.TQ1_0, new int[] {52}),
            entry(GgmlType.TQ2_0, new int[] {64}), entry(GgmlType.MXFP4, new int[0]));

    private QuantTestData() {
    }

    static byte[] resource(String name) {
        try (InputStream in = QuantTestData.class.getResourceAsStream("/quant-reference/" + name)) {
            if (in == null) throw new IllegalStateException("missing test resource quant-reference/" + name
                    + " (regenerate with scripts/gen-quant-reference.py)");
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static float[] floats(byte[] bytes) {
        float[] out = new float[bytes.length / 4];
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
        return out;
    }

    /** A rows x cols matrix of {@link #randomBlocks} in a heap segment (readable from every thread). */
    static WeightMatrix randomMatrix(GgmlType type, int rows, int cols, Random rnd) {
        return new WeightMatrix(type, MemorySegment.ofArray(randomBlocks(type, rows * cols / type.blockSize, rnd)), rows, cols);
    }

    /**
     * {@code nBlocks} random blocks of {@code type} whose scales are ordinary finite numbers, so that
     * products have meaningful relative errors (the edge-case scales are covered by the reference files).
     */
    static byte[] randomBlocks(GgmlType type, int nBlocks, Random rnd) {
        byte[] data = new byte[nBlocks * type.typeSize];
        rnd.nextBytes(data);
        for (int b = 0; b < nBlocks; b++) {
            int o = b * type.typeSize;
            switch (type) {
                case F32 -> putF32(data, o, (float) rnd.nextGaussian());
                case F16 -> putI16(data, o, Float.floatToFloat16((float) rnd.nextGaussian()));
                case BF16 -> putI16(data, o, Quantizer.toBf16((float) rnd.nextGaussian()));
                case MXFP4 -> data[o] = (byte) (120 + rnd.nextInt(10));
                case IQ1_M -> {
                    int bits = Float.floatToFloat16(scale(rnd));
                    for (int k = 0; k < 4; k++) {
                        int hi = o + 49 + 2 * k;
                        data[hi] = (byte) ((data[hi] & 0x0F) | (((bits >> (4 * k)) & 0xF) << 4));
                    }
                }
                default -> {
                    for (int f : F16_FIELDS.get(type)) putI16(data, o + f, Float.floatToFloat16(scale(rnd)));
                }
            }
        }
        return data;
    }

    private static float scale(Random rnd) {
        return (float) ((rnd.nextBoolean() ? 1 : -1) * (0.001 + rnd.nextDouble() * 0.05));
    }

    /** The bytes copied into {@code arena}'s native memory, as a model's mapped tensors are (the row kernels read by address). */
    static MemorySegment offHeap(Arena arena, byte[] raw) {
        MemorySegment data = arena.allocate(raw.length);
        MemorySegment.copy(raw, 0, data, ValueLayout.JAVA_BYTE, 0, raw.length);
        return data;
    }

    static float[] gaussian(int n, Random rnd) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) rnd.nextGaussian();
        return v;
    }

    private static void putI16(byte[] d, int o, int v) {
        d[o] = (byte) v;
        d[o + 1] = (byte) (v >> 8);
    }

    private static void putF32(byte[] d, int o, float f) {
        int v = Float.floatToRawIntBits(f);
        putI16(d, o, v);
        putI16(d, o + 2, v >> 16);
    }

    static String firstDifference(float[] expected, float[] actual) {
        for (int i = 0; i < expected.length; i++) {
            if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[i])) {
                return "element " + i + ": expected " + expected[i] + " (0x" + Integer.toHexString(Float.floatToRawIntBits(expected[i]))
                        + ") got " + actual[i] + " (0x" + Integer.toHexString(Float.floatToRawIntBits(actual[i])) + ")";
            }
        }
        return expected.length == actual.length ? null : "lengths differ: " + expected.length + " vs " + Arrays.toString(new int[] {actual.length});
    }
}
