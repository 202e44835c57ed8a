package dev.gguflens.llama;

/**
 * @param contextSize tokens the KV cache holds (the longest prompt a capture accepts)
 * @param batchSize   tokens per llama_decode call; longer prompts are processed in chunks of this size
 * @param threads     CPU threads, 0 = llama.cpp's default
 */
public record ContextParams(int contextSize, int batchSize, int threads) {
    public ContextParams {
        if (contextSize <= 0) throw new IllegalArgumentException("contextSize must be positive, got " + contextSize);
        if (batchSize <= 0) throw new IllegalArgumentException("batchSize must be positive, got " + batchSize);
        if (threads < 0) throw new IllegalArgumentException("threads must be 0 (default) or positive, got " + threads);
    }

    public static ContextParams of(int contextSize) {
        return new ContextParams(contextSize, Math.min(contextSize, 512), 0);
    }
}
