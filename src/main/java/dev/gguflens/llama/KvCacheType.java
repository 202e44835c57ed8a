package dev.gguflens.llama;

import java.util.Locale;

/** How llama.cpp stores attention keys and values (its {@code -ctk/-ctv}); the same type for K and V. */
public enum KvCacheType {
    /** Exact: K and V kept as the F32 activations that produced them. */
    F32(0, 4.0),
    /** llama.cpp's default: K and V (and, without flash attention, Q in the KQ product) rounded to half precision. */
    F16(1, 2.0),
    /** 8-bit blocks of 32 values (34 bytes); a quantised V cache needs flash attention in llama.cpp. */
    Q8_0(8, 34.0 / 32);

    /** The ggml_type id (ggml.h). */
    final int ggmlType;
    public final double bytesPerValue;

    KvCacheType(int ggmlType, double bytesPerValue) {
        this.ggmlType = ggmlType;
        this.bytesPerValue = bytesPerValue;
    }

    /** llama.cpp's spelling: f32, f16, q8_0. */
    public String llamaName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public boolean quantized() {
        return this == Q8_0;
    }
}
