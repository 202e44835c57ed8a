package dev.gguflens.gguf;

import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Predicate;

/**
 * Builds a GGUF v3 file (little-endian): metadata in insertion order (putting a key again replaces its
 * value in place), tensors in the order added, each tensor's data aligned to {@code general.alignment}
 * (32 when unset). {@link #write} is atomic: it writes a temporary file next to the target and renames it.
 */
public final class GgufWriter {
    private record PendingTensor(String name, GgmlType type, long[] shape, long byteSize, MemorySegment data, BlockSource source) {}

    /**
     * Produces a tensor's bytes at write time, chunk after chunk in file order, so a multi-gigabyte model is
     * never held in memory whole. Each chunk is a whole number of the tensor's blocks; {@code offset} is its
     * byte offset inside the tensor.
     */
    @FunctionalInterface
    public interface BlockSource {
        void fill(long offset, MemorySegment chunk);
    }

    /** Bytes generated per {@link BlockSource#fill} call (rounded down to whole blocks). */
    private static final int SOURCE_CHUNK_BYTES = 1 << 20;

    private final Map<String, GgufValue> metadata = new LinkedHashMap<>();
    private final List<PendingTensor> tensors = new ArrayList<>();
    private final Map<String, Boolean> tensorNames = new LinkedHashMap<>();

    public GgufWriter() {
    }

    public GgufWriter put(String key, GgufValue value) {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(value, "value");
        metadata.put(key, value);
        return this;
    }

    public GgufWriter putString(String k, String v) { return put(k, GgufValue.ofString(v)); }
    public GgufWriter putUInt8(String k, long v) { return put(k, checked(GgufValueType.UINT8, k, v)); }
    public GgufWriter putInt8(String k, long v) { return put(k, checked(GgufValueType.INT8, k, v)); }
    public GgufWriter putUInt16(String k, long v) { return put(k, checked(GgufValueType.UINT16, k, v)); }
    public GgufWriter putInt16(String k, long v) { return put(k, checked(GgufValueType.INT16, k, v)); }
    public GgufWriter putUInt32(String k, long v) { return put(k, checked(GgufValueType.UINT32, k, v)); }
    public GgufWriter putInt32(String k, int v) { return put(k, GgufValue.ofInt32(v)); }
    /** {@code v} is written as an unsigned 64-bit pattern. */
    public GgufWriter putUInt64(String k, long v) { return put(k, GgufValue.ofUInt64(v)); }
    public GgufWriter putInt64(String k, long v) { return put(k, GgufValue.ofInt64(v)); }
    public GgufWriter putFloat32(String k, float v) { return put(k, GgufValue.ofFloat32(v)); }
    public GgufWriter putFloat64(String k, double v) { return put(k, GgufValue.ofFloat64(v)); }
    public GgufWriter putBool(String k, boolean v) { return put(k, GgufValue.ofBool(v)); }
    public GgufWriter putStringArray(String k, List<String> v) { return put(k, GgufValue.ofStrings(v)); }
    public GgufWriter putInt32Array(String k, int[] v) { return put(k, GgufValue.ofInt32s(v)); }
    public GgufWriter putFloat32Array(String k, float[] v) { return put(k, GgufValue.ofFloat32s(v)); }
    public GgufWriter putArray(String k, GgufArray v) { return put(k, GgufValue.ofArray(v)); }

    private static GgufValue checked(GgufValueType type, String key, long v) {
        if (!type.inRange(v)) throw new IllegalArgumentException("value " + v + " for '" + key + "' is out of range for " + type);
        return new GgufValue(type, v);
    }

    /** Removes a key; no effect if absent. */
    public GgufWriter remove(String key) {
        metadata.remove(key);
        return this;
    }

    /** Copies every metadata entry of {@code source} whose key passes {@code keyFilter}, in source order. */
    public GgufWriter copyMetadata(GgufFile source, Predicate<String> keyFilter) {
        source.metadata().forEach((k, v) -> {
            if (keyFilter.test(k)) put(k, v);
        });
        return this;
    }

    /** Adds a tensor from pre-encoded bytes (e.g. Q8_0 blocks); their length must match type and shape. */
    public GgufWriter addTensor(String name, GgmlType type, long[] shape, byte[] rawBlocks) {
        return addTensor(name, type, shape, MemorySegment.ofArray(rawBlocks.clone()));
    }

    /** Adds a tensor whose bytes are read from {@code rawBlocks} at write time (e.g. a tensor of an open GgufFile). */
    public GgufWriter addTensor(String name, GgmlType type, long[] shape, MemorySegment rawBlocks) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(type, "type");
        if (tensorNames.containsKey(name)) throw new IllegalArgumentException("duplicate tensor name '" + name + "'");
        long byteSize = expectedBytes(name, type, shape);
        if (rawBlocks.byteSize() != byteSize) {
            throw new IllegalArgumentException("tensor '" + name + "': " + rawBlocks.byteSize() + " bytes given, " + type + " "
                    + Arrays.toString(shape) + " needs " + byteSize);
        }
        tensorNames.put(name, true);
        tensors.add(new PendingTensor(name, type, shape.clone(), byteSize, rawBlocks, null));
        return this;
    }

    /** Adds a tensor whose bytes {@code source} generates at write time (see {@link BlockSource}). */
    public GgufWriter addTensor(String name, GgmlType type, long[] shape, BlockSource source) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(source, "source");
        if (tensorNames.containsKey(name)) throw new IllegalArgumentException("duplicate tensor name '" + name + "'");
        long byteSize = expectedBytes(name, type, shape);
        tensorNames.put(name, true);
        tensors.add(new PendingTensor(name, type, shape.clone(), byteSize, null, source));
        return this;
    }

    /** Adds an F32 tensor; {@code values} are in ggml order (row length shape[0] varies fastest). */
    public GgufWriter addF32Tensor(String name, long[] shape, float[] values) {
        MemorySegment seg = MemorySegment.ofArray(new byte[Math.multiplyExact(values.length, 4)]);
        MemorySegment.copy(values, 0, seg, ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0, values.length);
        return addTensor(name, GgmlType.F32, shape, seg);
    }

    private static long expectedBytes(String name, GgmlType type, long[] shape) {
        if (shape.length < 1 || shape.length > GgufShard.MAX_DIMS) {
            throw new IllegalArgumentException("tensor '" + name + "' has " + shape.length + " dimensions (must be 1.." + GgufShard.MAX_DIMS + ")");
        }
        long elements = 1;
        for (long d : shape) {
            if (d <= 0) throw new IllegalArgumentException("tensor '" + name + "' shape " + Arrays.toString(shape) + " has a non-positive dimension");
            elements = Math.multiplyExact(elements, d);
        }
        if (shape[0] % type.blockSize != 0) {
            throw new IllegalArgumentException("tensor '" + name + "' row length " + shape[0] + " is not a multiple of the "
                    + type + " block size " + type.blockSize);
        }
        return Math.multiplyExact(type.rowBytes(shape[0]), elements / shape[0]);
    }

    long alignment() {
        GgufValue a = metadata.get("general.alignment");
        if (a == null) return GgufShard.DEFAULT_ALIGNMENT;
        long v = a.type().isInteger() ? a.asLong() : 0;
        if (v <= 0 || Long.bitCount(v) != 1 || v > (1L << 30)) {
            throw new IllegalArgumentException("general.alignment " + a + " is not a non-zero power of two");
        }
        return v;
    }

    /** Writes the file atomically (temporary file in the same directory, then rename). */
    public void write(Path file) throws IOException {
        writeParts(file, metadata, tensors);
    }

    /**
     * Writes the file into {@code staged}, an existing file that the caller's staging owner (report's
     * OutputSet) creates, publishes and, on failure or SIGINT, deletes. Unlike {@link #write} this makes no
     * temporary file of its own, so an interrupted multi-GiB write leaves nothing behind.
     */
    public void writeInto(Path staged) throws IOException {
        writeContents(staged, metadata, tensors);
    }

    /**
     * Writes the model as {@code shardCount} shards named like gguf-split does,
     * {@code <prefix>-00001-of-0000N.gguf}: tensors split into contiguous runs of nearly equal count,
     * all metadata in the first shard, {@code split.no/count/tensors.count} in every shard.
     *
     * @return the shard paths, first shard first
     */
    public List<Path> writeSplit(Path prefix, int shardCount) throws IOException {
        if (shardCount < 1 || shardCount > tensors.size()) {
            throw new IllegalArgumentException("shard count " + shardCount + " must be 1.." + tensors.size() + " (number of tensors)");
        }
        List<Path> paths = new ArrayList<>();
        int from = 0;
        for (int i = 0; i < shardCount; i++) {
            int to = (int) ((long) tensors.size() * (i + 1) / shardCount);
            Map<String, GgufValue> kv = new LinkedHashMap<>();
            if (i == 0) kv.putAll(metadata);
            kv.put(GgufFile.SPLIT_NO, GgufValue.ofUInt16(i));
            kv.put(GgufFile.SPLIT_COUNT, GgufValue.ofUInt16(shardCount));
            kv.put(GgufFile.SPLIT_TENSORS_COUNT, GgufValue.ofInt32(tensors.size()));
            if (i > 0 && metadata.containsKey("general.alignment")) kv.put("general.alignment", metadata.get("general.alignment"));
            Path p = prefix.resolveSibling(String.format("%s-%05d-of-%05d.gguf", prefix.getFileName(), i + 1, shardCount));
            writeParts(p, kv, tensors.subList(from, to));
            paths.add(p);
            from = to;
        }
        return paths;
    }

    private void writeParts(Path file, Map<String, GgufValue> kv, List<PendingTensor> parts) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Path tmp = Files.createTempFile(dir, "." + file.getFileName() + ".", ".tmp");
        try {
            writeContents(tmp, kv, parts);
            try {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private void writeContents(Path target, Map<String, GgufValue> kv, List<PendingTensor> parts) throws IOException {
        long alignment = alignment();
        try (FileChannel ch = FileChannel.open(target, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
             OutputStream raw = Channels.newOutputStream(ch);
             LittleEndianOut out = new LittleEndianOut(raw)) {
            out.u32(GgufShard.MAGIC);
            out.u32(3);
            out.u64(parts.size());
            out.u64(kv.size());
            for (Map.Entry<String, GgufValue> e : kv.entrySet()) {
                out.string(e.getKey());
                out.u32(e.getValue().type().id);
                writeValue(out, e.getValue().type(), e.getValue().value());
            }
            long offset = 0;
            for (PendingTensor t : parts) {
                out.string(t.name);
                out.u32(t.shape.length);
                for (long d : t.shape) out.u64(d);
                out.u32(t.type.id);
                out.u64(offset);
                offset = GgufShard.alignUp(offset + t.byteSize, alignment);
            }
            out.pad(alignment);
            long dataStart = out.written();
            for (PendingTensor t : parts) {
                if (t.source != null) writeGenerated(out, t);
                else writeSegment(out, t.data);
                out.pad(alignment);
            }
            if (out.written() - dataStart != offset && !parts.isEmpty()) {
                throw new IllegalStateException("data section length mismatch: " + (out.written() - dataStart) + " vs " + offset);
            }
        }
    }

    private static void writeSegment(LittleEndianOut out, MemorySegment data) throws IOException {
        byte[] chunk = new byte[(int) Math.min(data.byteSize(), 1 << 20)];
        for (long off = 0; off < data.byteSize(); off += chunk.length) {
            int n = (int) Math.min(chunk.length, data.byteSize() - off);
            MemorySegment.copy(data, ValueLayout.JAVA_BYTE, off, chunk, 0, n);
            out.bytes(chunk, n);
        }
    }

    private static void writeGenerated(LittleEndianOut out, PendingTensor t) throws IOException {
        long chunkBytes = Math.max(1, SOURCE_CHUNK_BYTES / t.type.typeSize) * t.type.typeSize;
        byte[] chunk = new byte[(int) Math.min(t.byteSize, chunkBytes)];
        MemorySegment whole = MemorySegment.ofArray(chunk);
        for (long off = 0; off < t.byteSize; off += chunk.length) {
            int n = (int) Math.min(chunk.length, t.byteSize - off);
            whole.fill((byte) 0);
            t.source.fill(off, whole.asSlice(0, n));
            out.bytes(chunk, n);
        }
    }

    private static void writeValue(LittleEndianOut out, GgufValueType type, Object v) throws IOException {
        switch (type) {
            case UINT8, INT8 -> out.u8((int) (long) (Long) v);
            case BOOL -> out.u8((Boolean) v ? 1 : 0);
            case UINT16, INT16 -> out.u16((int) (long) (Long) v);
            case UINT32, INT32 -> out.u32((int) (long) (Long) v);
            case UINT64, INT64 -> out.u64((Long) v);
            case FLOAT32 -> out.u32(Float.floatToRawIntBits((float) (double) (Double) v));
            case FLOAT64 -> out.u64(Double.doubleToRawLongBits((Double) v));
            case STRING -> out.string((String) v);
            case ARRAY -> {
                GgufArray a = (GgufArray) v;
                out.u32(a.elementType().id);
                out.u64(a.size());
                for (Object e : a.values()) writeValue(out, a.elementType(), e);
            }
        }
    }

    /** Buffered little-endian output that counts bytes, for offsets and padding. */
    private static final class LittleEndianOut implements AutoCloseable {
        private final OutputStream out;
        private final ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
        private long flushed;

        LittleEndianOut(OutputStream out) {
            this.out = out;
        }

        long written() {
            return flushed + buf.position();
        }

        private void room(int n) throws IOException {
            if (buf.remaining() < n) flush();
        }

        void u8(int v) throws IOException { room(1); buf.put((byte) v); }
        void u16(int v) throws IOException { room(2); buf.putShort((short) v); }
        void u32(int v) throws IOException { room(4); buf.putInt(v); }
        void u64(long v) throws IOException { room(8); buf.putLong(v); }

        void string(String s) throws IOException {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            u64(b.length);
            bytes(b, b.length);
        }

        void bytes(byte[] b, int n) throws IOException {
            if (n <= buf.remaining()) {
                buf.put(b, 0, n);
            } else {
                flush();
                out.write(b, 0, n);
                flushed += n;
            }
        }

        void pad(long alignment) throws IOException {
            long n = GgufShard.alignUp(written(), alignment) - written();
            for (long i = 0; i < n; i++) u8(0);
        }

        private void flush() throws IOException {
            out.write(buf.array(), 0, buf.position());
            flushed += buf.position();
            buf.clear();
        }

        @Override
        public void close() throws IOException {
            flush();
            out.flush();
        }
    }
}
