package dev.gguflens.gguf;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** Each malformed file must be refused with one line naming the file, the offset and what is wrong. */
class GgufValidationTest {
    @TempDir
    Path tmp;

    private GgufException refused(byte[] bytes, String expectedFragment) throws Exception {
        Path file = tmp.resolve("bad.gguf");
        Files.write(file, bytes);
        GgufException e = assertThrows(GgufException.class, () -> GgufFile.open(file).close());
        assertTrue(e.getMessage().startsWith(file.toString()), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        assertTrue(e.getMessage().contains(expectedFragment), "expected '" + expectedFragment + "' in: " + e.getMessage());
        return e;
    }

    private static RawGguf arch(int tensors, int kvs) {
        return RawGguf.header(3, tensors, kvs).kvString("general.architecture", "llama");
    }

    @Test
    void headerProblems() throws Exception {
        assertEquals(0, refused("GGML0000000000000000000000".getBytes(), "not a GGUF file").offset());
        refused(new byte[0], "not a GGUF file");
        refused("GGU".getBytes(), "not a GGUF file");
        assertEquals(4, refused(RawGguf.header(1, 0, 0).build(), "version 1 is not supported").offset());
        refused(RawGguf.header(0x03000000, 0, 0).build(), "big-endian GGUF is not supported");
        refused(RawGguf.header(0x02000000, 0, 0).build(), "big-endian GGUF is not supported");
        refused(RawGguf.header(4, 0, 0).build(), "unsupported GGUF version 4");
        refused(java.util.Arrays.copyOf(RawGguf.header(3, 0, 0).build(), 20), "file ends inside metadata key/value count");
    }

    @Test
    void version2IsAccepted() throws Exception {
        Path file = tmp.resolve("v2.gguf");
        Files.write(file, RawGguf.header(2, 1, 1).kvString("general.architecture", "llama")
                .tensor("t", new long[] {2}, GgmlType.F32.id, 0).pad(32).zeros(8).build());
        try (GgufFile g = GgufFile.open(file)) {
            assertEquals(2, g.version());
            assertEquals("llama", g.architecture());
            assertEquals(8, g.tensors().getFirst().byteSize());
        }
    }

    @Test
    void absurdCountsAndLengthsAreRefusedBeforeAllocating() throws Exception {
        refused(RawGguf.header(3, 0, 1L << 62).build(), "metadata key/value count 4611686018427387904 is impossible");
        refused(RawGguf.header(3, -1L, 0).build(), "tensor count 18446744073709551615 is impossible");
        refused(RawGguf.header(3, 0, 1).u64(1L << 40).zeros(16).build(), "length 1099511627776 of metadata key #0 exceeds");
        refused(RawGguf.header(3, 0, 1).u64(Long.MIN_VALUE).zeros(16).build(), "length 9223372036854775808 of metadata key #0");
        refused(RawGguf.header(3, 0, 1).str("a").u32(GgufValueType.ARRAY.id).u32(GgufValueType.UINT8.id).u64(1L << 40).build(),
                "length of array 'a' 1099511627776 is impossible");
        refused(RawGguf.header(3, 0, 1).str("a").u32(GgufValueType.ARRAY.id).u32(GgufValueType.STRING.id).u64(2).u64(1L << 40).zeros(16).build(),
                "exceeds");
    }

    @Test
    void metadataProblems() throws Exception {
        refused(RawGguf.header(3, 0, 1).str("k").u32(13).u32(0).build(), "metadata 'k' has unknown value type 13");
        refused(RawGguf.header(3, 0, 1).str("k").u32(GgufValueType.ARRAY.id).u32(99).u64(0).build(), "array 'k' has unknown element type 99");
        refused(RawGguf.header(3, 0, 2).kvU32("k", 1).kvU32("k", 2).build(), "duplicate metadata key 'k'");
        refused(RawGguf.header(3, 0, 1).str("b").u32(GgufValueType.BOOL.id).u8(7).build(), "bool 'b' has byte value 7");
        refused(arch(0, 2).kvU32("general.alignment", 0).build(), "general.alignment 0 is not a non-zero power of two");
        refused(arch(0, 2).kvU32("general.alignment", 48).build(), "general.alignment 48 is not a non-zero power of two");
        RawGguf deep = RawGguf.header(3, 0, 1).str("deep").u32(GgufValueType.ARRAY.id);
        for (int i = 0; i < 40; i++) deep.u32(GgufValueType.ARRAY.id).u64(1);
        refused(deep.u32(GgufValueType.UINT8.id).u64(0).build(), "nested more than");
    }

    @Test
    void tensorInfoProblems() throws Exception {
        refused(arch(1, 1).tensor("t", new long[9], GgmlType.F32.id, 0).build(), "tensor 't' has 9 dimensions (must be 1..4)");
        refused(arch(1, 1).str("t").u32(0).build(), "tensor 't' has 0 dimensions");
        refused(arch(1, 1).tensor("t", new long[] {4, 0}, GgmlType.F32.id, 0).build(), "tensor 't' dimension 1 is 0");
        refused(arch(1, 1).tensor("t", new long[] {-5}, GgmlType.F32.id, 0).build(), "dimension 0 is 18446744073709551611");
        refused(arch(1, 1).tensor("t", new long[] {1L << 32, 1L << 32}, GgmlType.F32.id, 0).build(), "more elements than fit in 64 bits");
        refused(arch(1, 1).tensor("t", new long[] {32}, 4, 0).build(), "tensor 't' has unknown ggml type id 4");
        refused(arch(1, 1).tensor("t", new long[] {32}, 1000, 0).build(), "tensor 't' has unknown ggml type id 1000");
        refused(arch(1, 1).tensor("t", new long[] {33}, GgmlType.Q8_0.id, 0).build(), "row length 33 is not a multiple of the Q8_0 block size 32");
        refused(arch(1, 1).tensor("t", new long[] {1L << 31, 1L << 31}, GgmlType.F32.id, 0).build(), "byte size overflows");
        refused(arch(1, 1).tensor("t", new long[] {2}, GgmlType.F32.id, 16).pad(32).zeros(64).build(), "data offset 16 is not a multiple of the alignment 32");
        refused(arch(1, 1).tensor("t", new long[] {64}, GgmlType.F32.id, 0).pad(32).zeros(255).build(), "extends past the end of the file");
        refused(arch(1, 1).tensor("t", new long[] {1}, GgmlType.F32.id, -32).pad(32).zeros(64).build(), "");
        refused(arch(2, 1).tensor("t", new long[] {2}, GgmlType.F32.id, 0).tensor("t", new long[] {2}, GgmlType.F32.id, 32)
                .pad(32).zeros(64).build(), "duplicate tensor name 't'");
        refused(arch(2, 1).tensor("a", new long[] {16}, GgmlType.F32.id, 0).tensor("b", new long[] {2}, GgmlType.F32.id, 32)
                .pad(32).zeros(128).build(), "tensor 'b' data overlaps tensor 'a'");
        refused(arch(1, 1).str("t").u32(2).u64(4).build(), "file ends inside dimension 1 of tensor 't'");
    }

    @Test
    void missingKeysAreNamed() throws Exception {
        Path file = tmp.resolve("noarch.gguf");
        Files.write(file, RawGguf.header(3, 0, 1).kvU32("x", 1).build());
        try (GgufFile g = GgufFile.open(file)) {
            GgufException e = assertThrows(GgufException.class, g::architecture);
            assertEquals(file + ": metadata key 'general.architecture' is missing", e.getMessage());
            assertThrows(GgufException.class, g::vocabulary);
        }
        Path noBlocks = tmp.resolve("noblocks.gguf");
        Files.write(noBlocks, arch(0, 2).kvU32("llama.embedding_length", 8).build());
        try (GgufFile g = GgufFile.open(noBlocks)) {
            GgufException e = assertThrows(GgufException.class, g::hyperparameters);
            assertTrue(e.getMessage().contains("'llama.block_count' is missing"), e.getMessage());
        }
        GgufException e = assertThrows(GgufException.class, () -> GgufFile.open(tmp.resolve("absent.gguf")));
        assertEquals(tmp.resolve("absent.gguf") + ": no such file", e.getMessage());
    }
}
