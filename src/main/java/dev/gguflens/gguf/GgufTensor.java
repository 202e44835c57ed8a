package dev.gguflens.gguf;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * One tensor of a GGUF file. {@code shape} is in ggml order: {@code shape[0]} is the row length
 * (ne[0], contiguous in memory). {@code dataOffset} is absolute within the shard that holds it;
 * {@code data} is the mapped bytes (valid until the {@link GgufFile} is closed).
 */
public record GgufTensor(String name, GgmlType type, long[] shape, long dataOffset, long byteSize, MemorySegment data) {
    public GgufTensor {
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    public int dimensions() {
        return shape.length;
    }

    public long elementCount() {
        long n = 1;
        for (long d : shape) n *= d;
        return n;
    }

    /** Elements per row: ne[0]. */
    public long rowLength() {
        return shape[0];
    }

    /** Number of rows: the product of ne[1..]. */
    public long rowCount() {
        long n = 1;
        for (int i = 1; i < shape.length; i++) n *= shape[i];
        return n;
    }

    /** Bytes of one row in this tensor's type. */
    public long rowBytes() {
        return type.rowBytes(shape[0]);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GgufTensor t && name.equals(t.name) && type == t.type && Arrays.equals(shape, t.shape)
                && dataOffset == t.dataOffset && byteSize == t.byteSize;
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(shape);
    }

    @Override
    public String toString() {
        return name + " " + type + " " + Arrays.toString(shape) + " @" + dataOffset + " (" + byteSize + " bytes)";
    }
}
