package dev.gguflens.llama;

import java.util.Locale;

/** llama.cpp's {@code --flash-attn on|off|auto}: whether attention runs as one fused kernel. */
public enum FlashAttention {
    /** llama.cpp decides per device; on CPU it turns flash attention on, which rounds Q, K, V to F16. */
    AUTO(-1),
    /** Separate KQ, softmax and KQV products, each in the cache's precision (exact with an F32 cache). */
    OFF(0),
    ON(1);

    /** The llama_flash_attn_type value (llama.h). */
    final int llamaValue;

    FlashAttention(int llamaValue) {
        this.llamaValue = llamaValue;
    }

    public String llamaName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
