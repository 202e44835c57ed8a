package dev.gguflens.quant;

import dev.gguflens.gguf.GgmlType;
import dev.gguflens.gguf.GgufTensor;
import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * A row-major matrix of {@code rows} rows of {@code cols} elements each, stored in ggml blocks;
 * row r starts at byte {@code r * type.rowBytes(cols)} of {@code data}. The data may live in any arena or on
 * the heap; a thread-confined segment is only read on its owner's thread (see {@link FusedMatmul}).
 */
public record WeightMatrix(GgmlType type, MemorySegment data, int rows, int cols) {

    public WeightMatrix {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(data, "data");
        if (rows < 0) throw new IllegalArgumentException("weight matrix: rows must be >= 0, got " + rows);
        if (cols <= 0) throw new IllegalArgumentException("weight matrix: cols must be > 0, got " + cols);
        if (cols % type.blockSize != 0) {
            throw new IllegalArgumentException("weight matrix: cols " + cols + " is not a multiple of the "
                    + type + " block size " + type.blockSize);
        }
        long need = rows * type.rowBytes(cols);
        if (data.byteSize() < need) {
            throw new IllegalArgumentException("weight matrix: " + rows + " x " + cols + " " + type + " needs "
                    + need + " bytes but the data holds " + data.byteSize());
        }
    }

    /**
     * The tensor as a matrix of {@code rowCount()} rows of {@code ne[0]} elements. Fails with an
     * {@link UnsupportedTypeException} naming the tensor when its type has no kernel.
     */
    public static WeightMatrix of(GgufTensor t) {
        Kernels.requireSupported(t.type(), t.name());
        if (t.rowLength() > Integer.MAX_VALUE || t.rowCount() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("tensor '" + t.name() + "': " + t.rowCount() + " rows of "
                    + t.rowLength() + " elements exceed the int-indexed kernels");
        }
        return new WeightMatrix(t.type(), t.data(), (int) t.rowCount(), (int) t.rowLength());
    }

    /** Bytes of one row. */
    public long rowBytes() {
        return type.rowBytes(cols);
    }
}
