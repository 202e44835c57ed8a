package dev.gguflens.gguf;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Generated corruptions of a valid small file (fixed seed): each either opens (a harmless change) or
 * throws a one-line GgufException that starts with the file path. Any other throwable fails the test.
 */
class GgufCorruptionFuzzTest {
    private static final long SEED = 20240601L;

    @TempDir
    Path tmp;

    private byte[] validFile() throws Exception {
        GgufWriter w = new GgufWriter()
                .putString("general.architecture", "llama")
                .putUInt32("llama.block_count", 2)
                .putUInt32("llama.embedding_length", 32)
                .putFloat32("llama.attention.layer_norm_rms_epsilon", 1e-5f)
                .putStringArray("tokenizer.ggml.tokens", List.of("<unk>", "<s>", "</s>", "▁a", "▁b"))
                .putInt32Array("tokenizer.ggml.token_type", new int[] {2, 3, 3, 1, 1})
                .putUInt32("tokenizer.ggml.bos_token_id", 1)
                .putArray("nested", new GgufArray(GgufValueType.ARRAY, List.of(new GgufArray(GgufValueType.INT16, List.of(1L, 2L)))))
                .putBool("flag", true);
        Random rnd = new Random(1);
        byte[] q8 = new byte[34 * 2];
        rnd.nextBytes(q8);
        w.addTensor("token_embd.weight", GgmlType.Q8_0, new long[] {32, 2}, q8);
        w.addF32Tensor("output_norm.weight", new long[] {32}, new float[32]);
        w.addF32Tensor("blk.0.attn_norm.weight", new long[] {8, 2, 1, 2}, new float[32]);
        Path p = tmp.resolve("valid.gguf");
        w.write(p);
        return Files.readAllBytes(p);
    }

    /** Offset where the data section starts: everything before it is header, metadata and tensor infos. */
    private long dataStart(byte[] valid) throws Exception {
        Path p = tmp.resolve("probe.gguf");
        Files.write(p, valid);
        try (GgufFile g = GgufFile.open(p)) {
            return g.dataStart();
        }
    }

    record Case(String description, byte[] bytes) {}

    private List<Case> cases(byte[] valid, int headerEnd, Random rnd) {
        List<Case> cases = new ArrayList<>();
        // Truncation at random points (and every point of the header region, which is small).
        for (int cut = 0; cut < headerEnd; cut += 3) cases.add(new Case("truncated at " + cut, Arrays.copyOf(valid, cut)));
        for (int i = 0; i < 20; i++) {
            int cut = headerEnd + rnd.nextInt(valid.length - headerEnd);
            cases.add(new Case("truncated in data at " + cut, Arrays.copyOf(valid, cut)));
        }
        // Random single and multi byte flips in the header/metadata/tensor-info region.
        for (int i = 0; i < 250; i++) {
            byte[] b = valid.clone();
            int flips = 1 + rnd.nextInt(4);
            StringBuilder what = new StringBuilder("flipped");
            for (int f = 0; f < flips; f++) {
                int at = rnd.nextInt(headerEnd);
                b[at] = (byte) (rnd.nextBoolean() ? rnd.nextInt(256) : b[at] ^ (1 << rnd.nextInt(8)));
                what.append(' ').append(at);
            }
            cases.add(new Case(what.toString(), b));
        }
        // Absurd 64-bit values written over every 8-byte-aligned... every position of the header region.
        long[] absurd = {1L << 63, -1L, 1L << 40, Long.MAX_VALUE, 1L << 32, 9, 0, 0xFFFF_FFFFL};
        for (int i = 0; i < 150; i++) {
            byte[] b = valid.clone();
            int at = rnd.nextInt(headerEnd - 8);
            long v = absurd[rnd.nextInt(absurd.length)];
            ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(at, v);
            cases.add(new Case("u64 " + Long.toUnsignedString(v) + " at " + at, b));
        }
        // 32-bit values (types, n_dims, version) over random positions.
        int[] absurd32 = {9, 13, 0, -1, 1000, 4, 39, 0x03000000, 1};
        for (int i = 0; i < 100; i++) {
            byte[] b = valid.clone();
            int at = rnd.nextInt(headerEnd - 4);
            int v = absurd32[rnd.nextInt(absurd32.length)];
            ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(at, v);
            cases.add(new Case("u32 " + v + " at " + at, b));
        }
        return cases;
    }

    @Test
    void everyCorruptionIsAOneLineGgufExceptionOrHarmless() throws Exception {
        byte[] valid = validFile();
        int headerEnd = (int) dataStart(valid);
        List<Case> cases = cases(valid, headerEnd, new Random(SEED));
        assertTrue(cases.size() > 500, "a few hundred cases: " + cases.size());
        Path file = tmp.resolve("fuzz.gguf");
        int refused = 0, opened = 0;
        for (Case c : cases) {
            Files.write(file, c.bytes);
            try (GgufFile g = GgufFile.open(file)) {
                opened++;
                exerciseEverything(g);
            } catch (GgufException e) {
                refused++;
                String m = e.getMessage();
                assertTrue(m.startsWith(file.toString()), c.description + ": " + m);
                assertFalse(m.contains("\n") || m.contains("\r"), c.description + ": " + m);
            } catch (Throwable t) {
                throw new AssertionError(c.description + ": unexpected " + t, t);
            }
        }
        System.out.println("corruption fuzz: " + cases.size() + " cases, " + refused + " refused, " + opened + " opened");
        // Most corruptions of such a dense header must be caught; some (a flipped letter in a string) are harmless.
        assertTrue(refused > cases.size() / 2, "refused " + refused + " of " + cases.size());
        assertTrue(opened > 0, "some flips are harmless");
    }

    /** A corrupted file that opened must still be fully usable without any other exception. */
    private static void exerciseEverything(GgufFile g) {
        for (GgufTensor t : g.tensors()) {
            assertEquals(t.byteSize(), t.data().byteSize());
            if (t.byteSize() > 0) {
                t.data().get(ValueLayout.JAVA_BYTE, 0);
                t.data().get(ValueLayout.JAVA_BYTE, t.byteSize() - 1);
            }
        }
        // Typed accessors may refuse a damaged value, but only with a GgufException.
        try {
            g.hyperparameters();
        } catch (GgufException expected) {
            assertFalse(expected.getMessage().contains("\n"));
        }
        try {
            Vocabulary v = g.vocabulary();
            for (int i = 0; i < v.size(); i++) {
                v.token(i);
                v.tokenType(i);
            }
        } catch (GgufException expected) {
            assertFalse(expected.getMessage().contains("\n"));
        }
    }
}
