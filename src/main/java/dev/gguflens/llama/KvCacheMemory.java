package dev.gguflens.llama;

import dev.gguflens.gguf.GgufFile;
import dev.gguflens.gguf.GgufValue;
import dev.gguflens.gguf.GgufValueType;

import java.util.Optional;

/**
 * The default KV cache: exact (F32, flash attention off) when its F32 size for the context is at most
 * {@link #EXACT_LIMIT_BYTES}, else llama.cpp's F16. F32 size = n_layer x n_ctx x n_head_kv x (head_dim_k +
 * head_dim_v) x 4 B; Qwen3-8B (36 layers, 8 KV heads of 128): 144 MiB at 512 tokens, 576 MiB at the default
 * 2048, so it runs exact; a 70B Llama-3 (80 layers) at 2048 tokens needs 1.25 GiB and gets F16.
 */
public final class KvCacheMemory {
    /** 1 GiB: small beside the weights of any model whose cache reaches it. */
    public static final long EXACT_LIMIT_BYTES = 1L << 30;

    private KvCacheMemory() {}

    /** The cache type the rule picks for a cache of {@code f32Bytes} at F32. */
    public static KvCacheType defaultType(long f32Bytes) {
        return f32Bytes <= EXACT_LIMIT_BYTES ? KvCacheType.F32 : KvCacheType.F16;
    }

    /**
     * Bytes of an F32 K and V cache for {@code contextSize} tokens, from the GGUF's attention keys (an upper
     * bound for sliding-window layers, which llama.cpp may size smaller). Per-layer KV head counts are summed.
     */
    public static long f32Bytes(GgufFile file, int contextSize) {
        var hp = file.hyperparameters();
        String a = hp.architecture();
        int layers = hp.blockCount();
        int embd = hp.embeddingLength();
        Optional<GgufValue> heads = file.get(a + ".attention.head_count");
        long headCount = heads.map(KvCacheMemory::maxOf).orElse(1L);
        long headDim = headCount > 0 ? embd / headCount : embd;
        long headK = file.get(a + ".attention.key_length").map(GgufValue::asLong).orElse(headDim);
        long headV = file.get(a + ".attention.value_length").map(GgufValue::asLong).orElse(headDim);
        long kvHeadsAllLayers = file.get(a + ".attention.head_count_kv")
                .map(v -> v.type() == GgufValueType.ARRAY ? sumOf(v) : v.asLong() * layers)
                .orElse(headCount * layers);
        return kvHeadsAllLayers * contextSize * (headK + headV) * 4L;
    }

    private static long maxOf(GgufValue v) {
        if (v.type() != GgufValueType.ARRAY) return v.asLong();
        long max = 0;
        for (long x : v.asArray().longs()) max = Math.max(max, x);
        return max;
    }

    private static long sumOf(GgufValue v) {
        long sum = 0;
        for (long x : v.asArray().longs()) sum += x;
        return sum;
    }
}
