package dev.gguflens.quant;

import dev.gguflens.gguf.GgmlType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Objects;

/** Dequantisation of ggml tensor data to float32, bit-identical to ggml's dequantize_row_* functions. */
public final class Kernels {
    /** Bytes copied from the segment per step; bounded so a big tensor never needs a big heap buffer. */
    private static final int CHUNK_BYTES = 1 << 16;
    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Kernels() {
    }

    /** Whether this type has dequantisation and fused-product kernels. */
    public static boolean supports(GgmlType type) {
        return type != null && BlockDecoder.supports(type);
    }

    /** Throws {@link UnsupportedTypeException} naming the tensor when {@code type} has no kernel. */
    public static void requireSupported(GgmlType type, String tensorName) {
        Objects.requireNonNull(type, "type");
        if (!supports(type)) throw new UnsupportedTypeException(type, tensorName);
    }

    /**
     * dst[dstOffset .. dstOffset+n) = dequantised elements starting at element 0 of the block data at
     * {@code src + srcByteOffset} ({@code n} a multiple of the block size).
     */
    public static void dequantize(GgmlType type, MemorySegment src, long srcByteOffset, float[] dst, int dstOffset, int n) {
        requireSupported(type, null);
        if (n < 0 || n % type.blockSize != 0) {
            throw new IllegalArgumentException("dequantize " + type + ": element count " + n
                    + " is not a non-negative multiple of the block size " + type.blockSize);
        }
        Objects.checkFromIndexSize(dstOffset, n, dst.length);
        long bytes = type.rowBytes(n);
        Objects.checkFromIndexSize(srcByteOffset, bytes, src.byteSize());
        if (type == GgmlType.F32) {
            MemorySegment.copy(src, F32_LE, srcByteOffset, dst, dstOffset, n);
            return;
        }
        int blocksPerChunk = Math.max(1, CHUNK_BYTES / type.typeSize);
        byte[] buf = new byte[(int) Math.min(bytes, (long) blocksPerChunk * type.typeSize)];
        int blocks = n / type.blockSize;
        for (int b = 0; b < blocks; b += blocksPerChunk) {
            int nb = Math.min(blocksPerChunk, blocks - b);
            MemorySegment.copy(src, ValueLayout.JAVA_BYTE, srcByteOffset + (long) b * type.typeSize, buf, 0, nb * type.typeSize);
            BlockDecoder.decode(type, buf, 0, dst, dstOffset + b * type.blockSize, nb);
        }
    }

    /** Rows [rowStart, rowStart+rowCount) of {@code w}, dequantised, row-major. */
    public static float[] dequantizeRows(WeightMatrix w, int rowStart, int rowCount) {
        Objects.checkFromIndexSize(rowStart, rowCount, w.rows());
        long n = (long) rowCount * w.cols();
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("dequantizeRows: " + rowCount + " rows x " + w.cols()
                    + " columns do not fit in one float array");
        }
        float[] out = new float[(int) n];
        // Rows are contiguous and a row is a whole number of blocks, so rows read like one flat run of blocks.
        dequantize(w.type(), w.data(), rowStart * w.rowBytes(), out, 0, (int) n);
        return out;
    }
}
