package dev.gguflens.llama;

import dev.gguflens.gguf.GgmlType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * Synthetic ggml weights for benchmarks and kernel tests: random but valid blocks. Quantised blocks get random
 * quant bytes and small finite f16 scales (so every dequantised value is finite); F32/F16/BF16 get values in
 * ±0.05. No quantiser is involved: matmul timing does not depend on the values, only on type and shape.
 */
public final class RandomWeights {
    /** Byte offsets of the f16 scale fields inside one block (ggml-common.h); every other byte is free. */
    private static final Map<GgmlType, int[]> F16_FIELDS = Map.ofEntries(
            Map.entry(GgmlType.Q4_0, new int[] {0}),
            Map.entry(GgmlType.Q4_1, new int[] {0, 2}),
            Map.entry(GgmlType.Q5_0, new int[] {0}),
            Map.entry(GgmlType.Q5_1, new int[] {0, 2}),
            Map.entry(GgmlType.Q8_0, new int[] {0}),
            Map.entry(GgmlType.Q2_K, new int[] {80, 82}),
            Map.entry(GgmlType.Q3_K, new int[] {108}),
            Map.entry(GgmlType.Q4_K, new int[] {0, 2}),
            Map.entry(GgmlType.Q5_K, new int[] {0, 2}),
            Map.entry(GgmlType.Q6_K, new int[] {208}),
            Map.entry(GgmlType.IQ4_NL, new int[] {0}),
            Map.entry(GgmlType.IQ4_XS, new int[] {0}));
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat LE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** Distinct random bytes generated before the rest of a large matrix repeats them (bigger than any L3 cache). */
    private static final long PATTERN_BYTES = 64L << 20;

    private RandomWeights() {}

    /** Whether {@link #fill} can generate this type. */
    public static boolean supports(GgmlType type) {
        return type == GgmlType.F32 || type == GgmlType.F16 || type == GgmlType.BF16 || F16_FIELDS.containsKey(type);
    }

    /**
     * A {@code rows x cols} weight in {@code arena}, 64-byte aligned. The first 64 MiB of rows are random and
     * the rest repeats them (so an 8B model's 2.5 GB output weight takes a second to make, not a minute).
     */
    public static MemorySegment allocate(Arena arena, GgmlType type, int rows, int cols, long seed) {
        check(type, rows, cols);
        long rowBytes = type.rowBytes(cols);
        MemorySegment data = arena.allocate(rows * rowBytes, 64);
        long patternRows = Math.max(1, Math.min(rows, PATTERN_BYTES / rowBytes));
        MemorySegment pattern = data.asSlice(0, patternRows * rowBytes);
        fill(type, pattern, new SplittableRandom(seed));
        for (long off = pattern.byteSize(); off < data.byteSize(); off += pattern.byteSize()) {
            long n = Math.min(pattern.byteSize(), data.byteSize() - off);
            MemorySegment.copy(pattern, 0, data, off, n);
        }
        return data;
    }

    /** Fills {@code blocks} (a whole number of blocks of {@code type}) with random valid blocks. */
    public static void fill(GgmlType type, MemorySegment blocks, SplittableRandom random) {
        Objects.requireNonNull(blocks, "blocks");
        if (!supports(type)) throw new IllegalArgumentException("random weights: type " + type + " is not supported");
        if (blocks.byteSize() % type.typeSize != 0) {
            throw new IllegalArgumentException("random weights: " + blocks.byteSize() + " bytes is not a whole number of "
                    + type + " blocks of " + type.typeSize + " bytes");
        }
        long count = blocks.byteSize() / type.typeSize;
        switch (type) {
            case F32 -> {
                for (long i = 0; i < count; i++) blocks.set(LE_FLOAT, 4 * i, value(random));
            }
            case F16 -> {
                for (long i = 0; i < count; i++) blocks.set(LE_SHORT, 2 * i, Float.floatToFloat16(value(random)));
            }
            case BF16 -> {
                // Truncation is fine: any finite bf16 will do.
                for (long i = 0; i < count; i++) {
                    blocks.set(LE_SHORT, 2 * i, (short) (Float.floatToRawIntBits(value(random)) >>> 16));
                }
            }
            default -> {
                int[] scales = F16_FIELDS.get(type);
                long words = blocks.byteSize() / 8;
                for (long w = 0; w < words; w++) blocks.set(ValueLayout.JAVA_LONG_UNALIGNED, 8 * w, random.nextLong());
                for (long b = words * 8; b < blocks.byteSize(); b++) blocks.set(ValueLayout.JAVA_BYTE, b, (byte) random.nextInt());
                for (long i = 0; i < count; i++) {
                    long base = i * type.typeSize;
                    for (int f : scales) blocks.set(LE_SHORT, base + f, Float.floatToFloat16(scale(random)));
                    if (type == GgmlType.Q8_0) {
                        // ggml's Q8_0 never stores -128 (quants are rounded into [-127, 127]); keep to that range.
                        for (int k = 2; k < type.typeSize; k++) {
                            if (blocks.get(ValueLayout.JAVA_BYTE, base + k) == Byte.MIN_VALUE) {
                                blocks.set(ValueLayout.JAVA_BYTE, base + k, (byte) -127);
                            }
                        }
                    }
                }
            }
        }
    }

    /** Whether {@link #fillWithDeviation} can generate this type. */
    public static boolean supportsDeviation(GgmlType type) {
        return type == GgmlType.Q4_K || type == GgmlType.Q6_K;
    }

    /**
     * Fills {@code blocks} with random blocks whose dequantised values have mean ~0 and standard deviation
     * ~{@code sigma}, so a model made of them keeps finite, unit-scale activations (weights ~1/sqrt(fan-in)).
     * The quants are uniform random; the sub-block scales are fixed per tensor and the f16 super-block scale
     * sets the size, chosen to stay a normal f16 (>= 2e-4) where the sub-block scale allows.
     */
    public static void fillWithDeviation(GgmlType type, MemorySegment blocks, SplittableRandom random, double sigma) {
        Objects.requireNonNull(blocks, "blocks");
        if (!supportsDeviation(type)) throw new IllegalArgumentException("random weights: no deviation-controlled " + type);
        if (!(sigma > 0) || Double.isInfinite(sigma)) throw new IllegalArgumentException("random weights: sigma " + sigma + " must be > 0");
        if (blocks.byteSize() % type.typeSize != 0) {
            throw new IllegalArgumentException("random weights: " + blocks.byteSize() + " bytes is not a whole number of "
                    + type + " blocks of " + type.typeSize + " bytes");
        }
        long count = blocks.byteSize() / type.typeSize;
        long words = blocks.byteSize() / 8;
        for (long w = 0; w < words; w++) blocks.set(ValueLayout.JAVA_LONG_UNALIGNED, 8 * w, random.nextLong());
        for (long b = words * 8; b < blocks.byteSize(); b++) blocks.set(ValueLayout.JAVA_BYTE, b, (byte) random.nextInt());
        if (type == GgmlType.Q4_K) {
            // y = d*sc*q - dmin*m with q uniform in 0..15 (mean 7.5, sd 4.61): m = sc and dmin = 7.5 d centre it.
            int sc = (int) Math.max(1, Math.min(63, Math.round(sigma / (Q4_SD * 2e-4))));
            short d = Float.floatToFloat16((float) (sigma / (Q4_SD * sc)));
            short dmin = Float.floatToFloat16(7.5f * Float.float16ToFloat(d));
            byte[] scales = packQ4KScales(sc);
            for (long i = 0; i < count; i++) {
                long base = i * type.typeSize;
                blocks.set(LE_SHORT, base, d);
                blocks.set(LE_SHORT, base + 2, dmin);
                MemorySegment.copy(scales, 0, blocks, ValueLayout.JAVA_BYTE, base + 4, scales.length);
            }
        } else {
            // y = d*sc*(q-32) with q uniform in 0..63 (sd 18.47); int8 sub-block scales of random sign keep the mean 0.
            int sc = (int) Math.max(1, Math.min(127, Math.round(sigma / (Q6_SD * 2e-4))));
            short d = Float.floatToFloat16((float) (sigma / (Q6_SD * sc)));
            for (long i = 0; i < count; i++) {
                long base = i * type.typeSize;
                for (int j = 0; j < 16; j++) blocks.set(ValueLayout.JAVA_BYTE, base + 192 + j, (byte) (random.nextBoolean() ? sc : -sc));
                blocks.set(LE_SHORT, base + 208, d);
            }
        }
    }

    /** Standard deviation of a uniform 4-bit and 6-bit quant: sqrt((n^2 - 1) / 12). */
    private static final double Q4_SD = Math.sqrt((16 * 16 - 1) / 12.0);
    private static final double Q6_SD = Math.sqrt((64 * 64 - 1) / 12.0);

    /** Q4_K's 12 scale bytes with every sub-block's scale and min equal to {@code v} (inverse of ggml's get_scale_min_k4). */
    static byte[] packQ4KScales(int v) {
        byte[] q = new byte[12];
        for (int j = 0; j < 4; j++) {
            q[j] = (byte) ((v & 63) | ((v >> 4) << 6));
            q[j + 4] = (byte) ((v & 63) | ((v >> 4) << 6));
            q[j + 8] = (byte) ((v & 0xF) | ((v & 0xF) << 4));
        }
        return q;
    }

    private static void check(GgmlType type, int rows, int cols) {
        Objects.requireNonNull(type, "type");
        if (!supports(type)) throw new IllegalArgumentException("random weights: type " + type + " is not supported");
        if (rows <= 0 || cols <= 0) {
            throw new IllegalArgumentException("random weights: rows " + rows + " and cols " + cols + " must be > 0");
        }
        if (cols % type.blockSize != 0) {
            throw new IllegalArgumentException("random weights: cols " + cols + " is not a multiple of the " + type
                    + " block size " + type.blockSize);
        }
    }

    private static float value(SplittableRandom random) {
        return (float) (random.nextDouble() * 0.1 - 0.05);
    }

    private static float scale(SplittableRandom random) {
        return (float) ((random.nextBoolean() ? 1 : -1) * (0.0005 + random.nextDouble() * 0.002));
    }
}
