package dev.gguflens.llama;

import dev.gguflens.gguf.GgufFile;
import dev.gguflens.gguf.GgufWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The default KV cache rule on the shapes the README names, from metadata-only GGUFs. */
class KvCacheMemoryTest {
    static Path header(Path dir, String name, int layers, int embd, int heads, int kvHeads, int headDim) throws IOException {
        GgufWriter w = new GgufWriter();
        w.putString("general.architecture", "qwen3");
        w.putUInt32("qwen3.block_count", layers);
        w.putUInt32("qwen3.embedding_length", embd);
        w.putUInt32("qwen3.attention.head_count", heads);
        w.putUInt32("qwen3.attention.head_count_kv", kvHeads);
        w.putUInt32("qwen3.attention.key_length", headDim);
        w.putUInt32("qwen3.attention.value_length", headDim);
        Path out = dir.resolve(name + ".gguf");
        w.write(out);
        return out;
    }

    @Test
    void qwen3_8bIsExactAndA70bModelIsNot(@TempDir Path dir) throws IOException {
        try (GgufFile qwen = GgufFile.open(header(dir, "qwen3-8b", 36, 4096, 32, 8, 128));
             GgufFile big = GgufFile.open(header(dir, "llama-70b", 80, 8192, 64, 8, 128))) {
            assertEquals(144L << 20, KvCacheMemory.f32Bytes(qwen, 512), "Qwen3-8B, 512 tokens: 144 MiB");
            assertEquals(576L << 20, KvCacheMemory.f32Bytes(qwen, 2048));
            assertEquals(KvCacheType.F32, KvCacheMemory.defaultType(KvCacheMemory.f32Bytes(qwen, 2048)));
            assertEquals(1280L << 20, KvCacheMemory.f32Bytes(big, 2048), "80 layers, 2048 tokens: 1.25 GiB");
            assertEquals(KvCacheType.F16, KvCacheMemory.defaultType(KvCacheMemory.f32Bytes(big, 2048)));
            assertEquals(KvCacheType.F32, KvCacheMemory.defaultType(KvCacheMemory.EXACT_LIMIT_BYTES), "the limit is inclusive");
        }
    }

    @Test
    void aQuantisedCacheWithoutFlashAttentionIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> new ContextParams(64, 64, 1, KvCacheType.Q8_0, FlashAttention.OFF));
        new ContextParams(64, 64, 1, KvCacheType.Q8_0, FlashAttention.AUTO);
    }
}
