package dev.gguflens.gguf;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class GgufRoundTripTest {
    @TempDir
    Path tmp;

    /** Metadata of every value type, including the edges of each integer range. */
    static Map<String, GgufValue> everyType() {
        Map<String, GgufValue> m = new LinkedHashMap<>();
        m.put("general.architecture", GgufValue.ofString("llama"));
        m.put("u8.max", GgufValue.ofUInt8(255));
        m.put("i8.min", GgufValue.ofInt8(-128));
        m.put("u16.max", GgufValue.ofUInt16(65535));
        m.put("i16.min", GgufValue.ofInt16(-32768));
        m.put("u32.max", GgufValue.ofUInt32(0xFFFF_FFFFL));
        m.put("i32.min", GgufValue.ofInt32(Integer.MIN_VALUE));
        m.put("u64.max", GgufValue.ofUInt64(-1L)); // 2^64-1 as its bit pattern
        m.put("i64.min", GgufValue.ofInt64(Long.MIN_VALUE));
        m.put("f32.pi", GgufValue.ofFloat32((float) Math.PI));
        m.put("f32.nan", GgufValue.ofFloat32(Float.NaN));
        m.put("f64.e", GgufValue.ofFloat64(Math.E));
        m.put("f64.-inf", GgufValue.ofFloat64(Double.NEGATIVE_INFINITY));
        m.put("bool.t", GgufValue.ofBool(true));
        m.put("bool.f", GgufValue.ofBool(false));
        m.put("str.empty", GgufValue.ofString(""));
        m.put("str.utf8", GgufValue.ofString("▁Lily héllo 日本 🦙"));
        m.put("ключ.日本", GgufValue.ofString("UTF-8 key"));
        m.put("arr.strings", GgufValue.ofStrings(List.of("<s>", "", "▁a", "🦙")));
        m.put("arr.empty", GgufValue.ofArray(new GgufArray(GgufValueType.INT32, List.of())));
        m.put("arr.empty.strings", GgufValue.ofStrings(List.of()));
        m.put("arr.i32", GgufValue.ofInt32s(new int[] {1, -2, Integer.MAX_VALUE}));
        m.put("arr.f32", GgufValue.ofFloat32s(new float[] {0.5f, -1e-6f}));
        m.put("arr.u64", GgufValue.ofArray(new GgufArray(GgufValueType.UINT64, List.of(0L, -1L))));
        m.put("arr.bool", GgufValue.ofArray(new GgufArray(GgufValueType.BOOL, List.of(true, false))));
        m.put("arr.u8", GgufValue.ofArray(new GgufArray(GgufValueType.UINT8, List.of(0L, 255L))));
        m.put("arr.i16", GgufValue.ofArray(new GgufArray(GgufValueType.INT16, List.of(-1L, 300L))));
        m.put("arr.f64", GgufValue.ofArray(new GgufArray(GgufValueType.FLOAT64, List.of(1.0 / 3))));
        m.put("arr.nested", GgufValue.ofArray(new GgufArray(GgufValueType.ARRAY, List.of(
                new GgufArray(GgufValueType.STRING, List.of("x", "y")),
                new GgufArray(GgufValueType.ARRAY, List.of(new GgufArray(GgufValueType.INT64, List.of(7L)))),
                new GgufArray(GgufValueType.FLOAT32, List.of())))));
        return m;
    }

    record Raw(String name, GgmlType type, long[] shape, byte[] bytes) {}

    static List<Raw> someTensors(Random rnd) {
        List<Raw> out = new ArrayList<>();
        long[][] shapes = {{64}, {64, 3}, {32, 2, 3}, {256, 1, 1, 2}, {5}};
        GgmlType[] types = {GgmlType.F32, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q6_K, GgmlType.F16};
        for (int i = 0; i < shapes.length; i++) {
            long elements = 1;
            for (long d : shapes[i]) elements *= d;
            byte[] b = new byte[(int) (elements / types[i].blockSize * types[i].typeSize)];
            rnd.nextBytes(b);
            out.add(new Raw("blk." + i + ".weight", types[i], shapes[i], b));
        }
        return out;
    }

    @Test
    void everyValueTypeAndTensorTypeSurvivesWriteAndRead() throws Exception {
        Map<String, GgufValue> meta = everyType();
        List<Raw> tensors = someTensors(new Random(42));
        GgufWriter w = new GgufWriter();
        meta.forEach(w::put);
        for (Raw t : tensors) w.addTensor(t.name, t.type, t.shape, t.bytes);
        Path file = tmp.resolve("all.gguf");
        w.write(file);

        try (GgufFile g = GgufFile.open(file)) {
            assertEquals(3, g.version());
            assertEquals(32, g.alignment());
            assertEquals(new ArrayList<>(meta.keySet()), new ArrayList<>(g.metadata().keySet()), "key order");
            assertEquals(meta, g.metadata());
            assertEquals("18446744073709551615", Long.toUnsignedString(g.get("u64.max").orElseThrow().asLong()));
            assertEquals(tensors.size(), g.tensors().size());
            for (int i = 0; i < tensors.size(); i++) {
                Raw want = tensors.get(i);
                GgufTensor got = g.tensors().get(i);
                assertEquals(want.name, got.name());
                assertEquals(want.type, got.type());
                assertArrayEquals(want.shape, got.shape());
                assertEquals(want.bytes.length, got.byteSize());
                assertEquals(0, got.dataOffset() % 32, "aligned");
                assertArrayEquals(want.bytes, got.data().toArray(ValueLayout.JAVA_BYTE), want.name);
                assertSame(got, g.tensor(want.name).orElseThrow());
            }
            assertEquals(Files.size(file), g.fileSize());
            GgufTensor t1 = g.tensor("blk.1.weight").orElseThrow();
            assertEquals(64, t1.rowLength());
            assertEquals(3, t1.rowCount());
            assertEquals(192, t1.elementCount());
        }
    }

    @Test
    void f32TensorsAndCustomAlignment() throws Exception {
        float[] values = {1.5f, -2f, 3.25f, 0f, Float.MIN_VALUE, -0f};
        Path file = tmp.resolve("f32.gguf");
        new GgufWriter().putString("general.architecture", "test").putUInt32("general.alignment", 64)
                .addF32Tensor("a", new long[] {3, 2}, values)
                .addF32Tensor("b", new long[] {1}, new float[] {7f})
                .write(file);
        try (GgufFile g = GgufFile.open(file)) {
            assertEquals(64, g.alignment());
            GgufTensor a = g.tensor("a").orElseThrow();
            float[] back = a.data().toArray(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN));
            assertArrayEquals(values, back);
            GgufTensor b = g.tensor("b").orElseThrow();
            assertEquals(0, b.dataOffset() % 64);
            assertEquals(64, b.dataOffset() - a.dataOffset(), "second tensor starts at the next 64-byte boundary");
        }
    }

    @Test
    void writerRefusesInconsistentInput() {
        GgufWriter w = new GgufWriter();
        assertThrows(IllegalArgumentException.class, () -> w.addTensor("x", GgmlType.Q8_0, new long[] {32}, new byte[33]));
        assertThrows(IllegalArgumentException.class, () -> w.addTensor("x", GgmlType.Q8_0, new long[] {31}, new byte[34]));
        assertThrows(IllegalArgumentException.class, () -> w.addTensor("x", GgmlType.F32, new long[] {1, 1, 1, 1, 1}, new byte[4]));
        assertThrows(IllegalArgumentException.class, () -> w.putUInt8("k", 256));
        assertThrows(IllegalArgumentException.class, () -> w.putUInt32("k", -1));
        w.addTensor("x", GgmlType.F32, new long[] {1}, new byte[4]);
        assertThrows(IllegalArgumentException.class, () -> w.addTensor("x", GgmlType.F32, new long[] {1}, new byte[4]));
        assertThrows(IllegalArgumentException.class, () -> new GgufValue(GgufValueType.UINT8, 300L));
        assertThrows(IllegalArgumentException.class, () -> new GgufArray(GgufValueType.STRING, List.of(1L)));
    }

    @Test
    void writeIsAtomicAndReplacesTheTarget() throws Exception {
        Path file = tmp.resolve("m.gguf");
        Files.writeString(file, "old content");
        new GgufWriter().putString("general.architecture", "x").write(file);
        try (GgufFile g = GgufFile.open(file)) {
            assertEquals("x", g.architecture());
            assertTrue(g.tensors().isEmpty());
        }
        try (var files = Files.list(tmp)) {
            assertEquals(List.of(file), files.toList(), "no temporary file left behind");
        }
    }

    @Test
    void copyMetadataAndTensorsFromAnOpenFile() throws Exception {
        Path src = tmp.resolve("src.gguf");
        GgufWriter w = new GgufWriter();
        everyType().forEach(w::put);
        for (Raw t : someTensors(new Random(1))) w.addTensor(t.name, t.type, t.shape, t.bytes);
        w.write(src);
        Path dst = tmp.resolve("dst.gguf");
        try (GgufFile g = GgufFile.open(src)) {
            GgufWriter copy = new GgufWriter().copyMetadata(g, k -> k.startsWith("arr.") || k.equals("general.architecture"));
            for (GgufTensor t : g.tensors()) copy.addTensor(t.name(), t.type(), t.shape(), t.data());
            copy.write(dst);
            try (GgufFile d = GgufFile.open(dst)) {
                assertEquals(g.metadata().keySet().stream().filter(k -> k.startsWith("arr.") || k.equals("general.architecture")).toList(),
                        new ArrayList<>(d.metadata().keySet()));
                for (GgufTensor t : g.tensors()) {
                    GgufTensor c = d.tensor(t.name()).orElseThrow();
                    assertEquals(-1, t.data().mismatch(c.data()), t.name());
                }
            }
        }
    }

    @Test
    void closedFileDataIsNoLongerAccessible() throws Exception {
        Path file = tmp.resolve("c.gguf");
        new GgufWriter().putString("general.architecture", "x").addF32Tensor("t", new long[] {2}, new float[] {1, 2}).write(file);
        MemorySegment data;
        try (GgufFile g = GgufFile.open(file)) {
            data = g.tensors().getFirst().data();
            assertEquals(1f, data.get(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0));
        }
        assertThrows(IllegalStateException.class, () -> data.get(ValueLayout.JAVA_BYTE, 0));
    }
}
