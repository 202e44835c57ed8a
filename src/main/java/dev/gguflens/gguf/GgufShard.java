package dev.gguflens.gguf;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One parsed and validated GGUF file, mapped as a whole. Every read is bounds-checked against the
 * file size before anything is allocated, so malformed input ends in a {@link GgufException}.
 */
final class GgufShard {
    static final int MAGIC = 0x46554747; // "GGUF" read little-endian
    static final int DEFAULT_ALIGNMENT = 32;
    static final int MAX_DIMS = 4; // GGML_MAX_DIMS
    /** Nesting deeper than this is refused: nobody writes it and it would let a small file exhaust the stack. */
    static final int MAX_ARRAY_NESTING = 16;
    /** Longest string accepted (chat templates are the longest real ones, well below this). */
    static final long MAX_STRING_BYTES = 64L << 20;
    /**
     * Most array elements accepted in one file, summed over all arrays: they become boxed Java objects,
     * so the limit keeps a malformed file from exhausting the heap. Real vocabularies are under 1M tokens.
     */
    static final long MAX_ARRAY_ELEMENTS = 16L << 20;

    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    final Path path;
    final int version;
    final long alignment;
    final long dataStart;
    final long fileSize;
    final Map<String, GgufValue> metadata;
    final List<GgufTensor> tensors;
    private final Arena arena;

    private final MemorySegment file;
    private long pos;
    private long arrayElementsRead;

    private GgufShard(Path path, Arena arena, MemorySegment file) {
        this.path = path;
        this.arena = arena;
        this.file = file;
        this.fileSize = file.byteSize();

        requireBytes(4, "magic");
        if (file.get(U32, 0) != MAGIC) throw error(0, "not a GGUF file (magic is not 'GGUF')");
        pos = 4;
        requireBytes(4, "version");
        int v = file.get(U32, pos);
        if (v == 1) throw error(pos, "GGUF version 1 is not supported (only versions 2 and 3)");
        // A big-endian file has a small version number with its bytes swapped, e.g. 0x03000000.
        if ((v & 0xFFFF) == 0 && v != 0) throw error(pos, "big-endian GGUF is not supported (version field " + hex(v) + ")");
        if (v != 2 && v != 3) throw error(pos, "unsupported GGUF version " + Integer.toUnsignedString(v) + " (only versions 2 and 3)");
        this.version = v;
        pos += 4;

        long tensorCountOffset = pos;
        long tensorCount = readU64("tensor count");
        long kvCountOffset = pos;
        long kvCount = readU64("metadata key/value count");
        // Every key/value takes at least 8 (key length) + 4 (type) + 1 bytes, every tensor info at least 8+4+8+4+8.
        checkCount(kvCountOffset, kvCount, 13, "metadata key/value count");
        checkCount(tensorCountOffset, tensorCount, 32, "tensor count");

        Map<String, GgufValue> kv = new LinkedHashMap<>();
        for (long i = 0; i < kvCount; i++) {
            long keyOffset = pos;
            String key = readString("metadata key #" + i);
            long typeOffset = pos;
            long typeId = readU32("type of " + UntrustedText.quoted(key) + "");
            GgufValueType type = GgufValueType.byId(typeId);
            if (type == null) throw error(typeOffset, "metadata " + UntrustedText.quoted(key) + " has unknown value type " + typeId);
            GgufValue value = readValue(type, key, 0);
            if (kv.putIfAbsent(key, value) != null) throw error(keyOffset, "duplicate metadata key " + UntrustedText.quoted(key) + "");
        }
        this.metadata = Collections.unmodifiableMap(kv);
        this.alignment = readAlignment(kv);

        record Info(String name, GgmlType type, long[] shape, long relOffset, long byteSize, long infoOffset) {}
        List<Info> infos = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (long i = 0; i < tensorCount; i++) {
            long infoOffset = pos;
            String name = readString("name of tensor #" + i);
            if (!names.add(name)) throw error(infoOffset, "duplicate tensor name " + UntrustedText.quoted(name) + "");
            long dimsOffset = pos;
            long nDims = readU32("dimension count of tensor " + UntrustedText.quoted(name) + "");
            if (nDims < 1 || nDims > MAX_DIMS) {
                throw error(dimsOffset, "tensor " + UntrustedText.quoted(name) + " has " + nDims + " dimensions (must be 1.." + MAX_DIMS + ")");
            }
            long[] shape = new long[(int) nDims];
            long elements = 1;
            for (int d = 0; d < nDims; d++) {
                long dimOffset = pos;
                shape[d] = readU64("dimension " + d + " of tensor " + UntrustedText.quoted(name) + "");
                if (shape[d] <= 0) {
                    throw error(dimOffset, "tensor " + UntrustedText.quoted(name) + " dimension " + d + " is " + Long.toUnsignedString(shape[d]) + " (must be positive)");
                }
                try {
                    elements = Math.multiplyExact(elements, shape[d]);
                } catch (ArithmeticException overflow) {
                    throw error(dimOffset, "tensor " + UntrustedText.quoted(name) + " shape " + unsignedShape(shape, d + 1) + " has more elements than fit in 64 bits");
                }
            }
            long typeOffset = pos;
            long typeId = readU32("type of tensor " + UntrustedText.quoted(name) + "");
            GgmlType type = GgmlType.byId(typeId);
            if (type == null) throw error(typeOffset, "tensor " + UntrustedText.quoted(name) + " has unknown ggml type id " + typeId);
            if (shape[0] % type.blockSize != 0) {
                throw error(dimsOffset, "tensor " + UntrustedText.quoted(name) + " row length " + shape[0] + " is not a multiple of the "
                        + type + " block size " + type.blockSize);
            }
            long byteSize;
            try {
                byteSize = Math.multiplyExact(type.rowBytes(shape[0]), elements / shape[0]);
            } catch (ArithmeticException overflow) {
                throw error(dimsOffset, "tensor " + UntrustedText.quoted(name) + " byte size overflows 64 bits");
            }
            long offOffset = pos;
            long relOffset = readU64("data offset of tensor " + UntrustedText.quoted(name) + "");
            if (relOffset < 0 || relOffset % alignment != 0) {
                throw error(offOffset, "tensor " + UntrustedText.quoted(name) + " data offset " + Long.toUnsignedString(relOffset)
                        + " is not a multiple of the alignment " + alignment);
            }
            infos.add(new Info(name, type, shape, relOffset, byteSize, offOffset));
        }

        long start = alignUp(pos, alignment);
        this.dataStart = start;
        // Tensor data must lie inside the file and must not overlap: check in offset order.
        List<Info> byOffset = new ArrayList<>(infos);
        byOffset.sort(Comparator.comparingLong(Info::relOffset));
        long previousEnd = 0;
        String previousName = null;
        for (Info t : byOffset) {
            long absolute = start + t.relOffset; // relOffset < fileSize is checked next, so no overflow for sane files
            if (t.relOffset > fileSize || absolute > fileSize || t.byteSize > fileSize - absolute) {
                throw error(t.infoOffset, "tensor " + UntrustedText.quoted(t.name) + " data [" + absolute + ", +" + t.byteSize
                        + ") extends past the end of the file (" + fileSize + " bytes)");
            }
            if (previousName != null && t.relOffset < previousEnd) {
                throw error(t.infoOffset, "tensor " + UntrustedText.quoted(t.name) + " data overlaps tensor " + UntrustedText.quoted(previousName) + "");
            }
            previousEnd = t.relOffset + t.byteSize;
            previousName = t.name;
        }
        List<GgufTensor> out = new ArrayList<>(infos.size());
        for (Info t : infos) {
            long absolute = start + t.relOffset;
            out.add(new GgufTensor(t.name, t.type, t.shape, absolute, t.byteSize, file.asSlice(absolute, t.byteSize)));
        }
        this.tensors = Collections.unmodifiableList(out);
    }

    /** Maps and parses {@code path}; the caller owns the returned shard and must {@link #close()} it. */
    static GgufShard open(Path path) {
        InputFiles.requireRegularFile(path); // before opening: a FIFO would block the open itself
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            MemorySegment mapped = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            return new GgufShard(path, arena, mapped);
        } catch (NoSuchFileException e) {
            arena.close();
            throw new GgufException(path, "no such file");
        } catch (IOException e) {
            arena.close();
            throw new GgufException(path, "cannot read: " + e.getMessage());
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    void close() {
        arena.close();
    }

    private long readAlignment(Map<String, GgufValue> kv) {
        GgufValue a = kv.get("general.alignment");
        if (a == null) return DEFAULT_ALIGNMENT;
        if (!a.type().isInteger()) throw error(-1, "general.alignment has type " + a.type() + " (must be an unsigned integer)");
        long v = a.asLong();
        if (v <= 0 || Long.bitCount(v) != 1 || v > (1L << 30)) {
            throw error(-1, "general.alignment " + Long.toUnsignedString(v) + " is not a non-zero power of two (up to 2^30)");
        }
        return v;
    }

    private GgufValue readValue(GgufValueType type, String key, int depth) {
        return new GgufValue(type, readRaw(type, key, depth));
    }

    private Object readRaw(GgufValueType type, String key, int depth) {
        return switch (type) {
            case UINT8 -> (long) Byte.toUnsignedInt(readBytes(1, key)[0]);
            case INT8 -> (long) readBytes(1, key)[0];
            case UINT16 -> { require(2, key); long v = Short.toUnsignedLong(file.get(U16, pos)); pos += 2; yield v; }
            case INT16 -> { require(2, key); long v = file.get(U16, pos); pos += 2; yield v; }
            case UINT32 -> readU32(key);
            case INT32 -> { require(4, key); long v = file.get(U32, pos); pos += 4; yield v; }
            case UINT64, INT64 -> readU64(key);
            case FLOAT32 -> { require(4, key); double v = file.get(F32, pos); pos += 4; yield v; }
            case FLOAT64 -> { require(8, key); double v = file.get(F64, pos); pos += 8; yield v; }
            case BOOL -> {
                long at = pos;
                byte b = readBytes(1, key)[0];
                if (b != 0 && b != 1) throw error(at, "bool " + UntrustedText.quoted(key) + " has byte value " + b + " (must be 0 or 1)");
                yield b == 1;
            }
            case STRING -> readString(key);
            case ARRAY -> readArray(key, depth + 1);
        };
    }

    private GgufArray readArray(String key, int depth) {
        long typeOffset = pos;
        if (depth > MAX_ARRAY_NESTING) throw error(typeOffset, "array " + UntrustedText.quoted(key) + " is nested more than " + MAX_ARRAY_NESTING + " levels deep");
        long typeId = readU32("array element type of " + UntrustedText.quoted(key) + "");
        GgufValueType elementType = GgufValueType.byId(typeId);
        if (elementType == null) throw error(typeOffset, "array " + UntrustedText.quoted(key) + " has unknown element type " + typeId);
        long countOffset = pos;
        long count = readU64("array length of " + UntrustedText.quoted(key) + "");
        // Strings take at least 8 bytes (their length), nested arrays at least 12 (type + length).
        int minSize = switch (elementType) {
            case STRING -> 8;
            case ARRAY -> 12;
            default -> elementType.fixedSize();
        };
        checkCount(countOffset, count, minSize, "length of array " + UntrustedText.quoted(key) + "");
        arrayElementsRead += count;
        if (arrayElementsRead > MAX_ARRAY_ELEMENTS) {
            throw error(countOffset, "array " + UntrustedText.quoted(key) + " has " + count + " elements; more than " + MAX_ARRAY_ELEMENTS
                    + " array elements in one file are not supported");
        }
        Object[] values = new Object[(int) count];
        for (int i = 0; i < values.length; i++) values[i] = readRaw(elementType, key, depth);
        return new GgufArray(elementType, Arrays.asList(values));
    }

    private String readString(String what) {
        long lengthOffset = pos;
        long length = readU64("length of " + what);
        if (length < 0 || length > fileSize - pos) {
            throw error(lengthOffset, "length " + Long.toUnsignedString(length) + " of " + what + " exceeds the "
                    + (fileSize - pos) + " bytes left in the file");
        }
        if (length > MAX_STRING_BYTES) throw error(lengthOffset, "length " + length + " of " + what + " is above the " + MAX_STRING_BYTES + "-byte limit for strings");
        return new String(readBytes((int) length, what), StandardCharsets.UTF_8);
    }

    private byte[] readBytes(int n, String what) {
        require(n, what);
        byte[] out = new byte[n];
        MemorySegment.copy(file, ValueLayout.JAVA_BYTE, pos, out, 0, n);
        pos += n;
        return out;
    }

    private long readU32(String what) {
        require(4, what);
        long v = Integer.toUnsignedLong(file.get(U32, pos));
        pos += 4;
        return v;
    }

    private long readU64(String what) {
        require(8, what);
        long v = file.get(U64, pos);
        pos += 8;
        return v;
    }

    private void require(long n, String what) {
        if (n > fileSize - pos) {
            throw error(pos, "file ends inside " + what + " (needs " + n + " bytes, " + (fileSize - pos) + " left)");
        }
    }

    private void requireBytes(long n, String what) {
        if (n > fileSize - pos) throw error(pos, "not a GGUF file (too short for the " + what + ")");
    }

    /** Refuses counts that could not possibly fit in the rest of the file, before anything is allocated. */
    private void checkCount(long at, long count, int minBytesEach, String what) {
        long left = fileSize - pos;
        if (count < 0 || (minBytesEach > 0 && count > left / minBytesEach)) {
            throw error(at, what + " " + Long.toUnsignedString(count) + " is impossible: only " + left + " bytes left in the file");
        }
    }

    private GgufException error(long offset, String what) {
        return new GgufException(path, offset, what);
    }

    static long alignUp(long n, long alignment) {
        return (n + alignment - 1) / alignment * alignment;
    }

    private static String hex(int v) {
        return String.format("0x%08X", v);
    }

    private static String unsignedShape(long[] shape, int n) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < n; i++) sb.append(i > 0 ? ", " : "").append(Long.toUnsignedString(shape[i]));
        return sb.append(n < shape.length ? ", ...]" : "]").toString();
    }
}
