package dev.gguflens.llama;

/**
 * @param contextSize    tokens the KV cache holds (the longest prompt a capture accepts)
 * @param batchSize      tokens per llama_decode call; longer prompts are processed in chunks of this size
 * @param threads        CPU threads, 0 = llama.cpp's default
 * @param kvCacheType    the K and V cache type
 * @param flashAttention whether llama.cpp fuses attention; a quantised cache needs it (llama.cpp refuses a
 *                       quantised V cache without it)
 */
public record ContextParams(int contextSize, int batchSize, int threads, KvCacheType kvCacheType,
                            FlashAttention flashAttention) {
    public ContextParams {
        if (contextSize <= 0) throw new IllegalArgumentException("contextSize must be positive, got " + contextSize);
        if (batchSize <= 0) throw new IllegalArgumentException("batchSize must be positive, got " + batchSize);
        if (threads < 0) throw new IllegalArgumentException("threads must be 0 (default) or positive, got " + threads);
        if (kvCacheType == null || flashAttention == null) throw new IllegalArgumentException("KV cache type and flash attention are required");
        if (kvCacheType.quantized() && flashAttention == FlashAttention.OFF) {
            throw new IllegalArgumentException("a " + kvCacheType.llamaName() + " KV cache needs flash attention (on or auto), not off");
        }
    }

    /** The exact setting: F32 KV cache, no flash attention, so every layer is an F32 forward pass. */
    public ContextParams(int contextSize, int batchSize, int threads) {
        this(contextSize, batchSize, threads, KvCacheType.F32, FlashAttention.OFF);
    }

    public static ContextParams of(int contextSize) {
        return new ContextParams(contextSize, Math.min(contextSize, 512), 0);
    }
}
