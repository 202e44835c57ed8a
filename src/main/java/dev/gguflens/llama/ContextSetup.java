package dev.gguflens.llama;

import dev.gguflens.gguf.GgmlType;

import java.util.Locale;

/**
 * How a context computes attention: the KV cache types and flash attention, as requested and as used.
 *
 * @param kvTypeK            the K cache's ggml type, lower case as llama.cpp spells it (f16, q8_0, ...)
 * @param kvTypeV            the V cache's type
 * @param flashAttnRequested auto, on or off
 * @param flashAttnUsed      whether the last capture's graph ran flash attention; null before the first capture
 */
public record ContextSetup(String kvTypeK, String kvTypeV, String flashAttnRequested, Boolean flashAttnUsed) {
    static ContextSetup of(int[] info) {
        String requested = switch (info[4]) {
            case -1 -> "auto";
            case 0 -> "off";
            case 1 -> "on";
            default -> "unknown (" + info[4] + ")";
        };
        return new ContextSetup(typeName(info[2]), typeName(info[3]), requested, info[5] < 0 ? null : info[5] == 1);
    }

    private static String typeName(int id) {
        try {
            return GgmlType.byId(id).name().toLowerCase(Locale.ROOT);
        } catch (RuntimeException e) {
            return "type " + id;
        }
    }

    /** "f16" when K and V match, else "K q8_0, V f16". */
    public String kvType() {
        return kvTypeK.equals(kvTypeV) ? kvTypeK : "K " + kvTypeK + ", V " + kvTypeV;
    }
}
