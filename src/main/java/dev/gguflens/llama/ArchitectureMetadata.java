package dev.gguflens.llama;

import dev.gguflens.gguf.GgufFile;
import dev.gguflens.gguf.GgufWriter;

import java.util.Objects;
import java.util.OptionalInt;
import java.util.SplittableRandom;

/**
 * The metadata block of a generated decoder model, as llama.cpp reads it (src/llama-arch.cpp's keys): the vocabulary's
 * tokenizer keys, the architecture and name, and the hyperparameters. The one writer of that block for the models this
 * project makes itself: the full-size {@link ShapedRandomModel} and the tests' small random models. Keys are written in
 * a fixed order, so a model's bytes depend only on its values.
 *
 * @param architecture  llama.cpp's architecture name (qwen3, llama, gemma2, ...), the prefix of its keys
 * @param contextLength the trained context the model claims
 * @param headDim       key and value length per head, also RoPE's dimension count
 * @param ropeFreqBase  RoPE's base frequency
 * @param rmsEpsilon    RMSNorm's epsilon
 */
public record ArchitectureMetadata(String architecture, int blocks, int contextLength, int embedding, int feedForward,
                                   int heads, int kvHeads, int headDim, float ropeFreqBase, float rmsEpsilon) {
    public ArchitectureMetadata {
        Objects.requireNonNull(architecture, "architecture");
        if (blocks < 1 || contextLength < 1 || embedding < 1 || feedForward < 1 || heads < 1 || kvHeads < 1 || headDim < 1) {
            throw new IllegalArgumentException(architecture + ": every dimension must be positive");
        }
        if (!(ropeFreqBase > 0) || !(rmsEpsilon > 0)) throw new IllegalArgumentException(architecture + ": rope base and epsilon must be > 0");
    }

    /**
     * A writer holding {@code vocab}'s tokenizer metadata, then general.architecture, general.name, general.file_type
     * (when given: llama.cpp's LLAMA_FTYPE) and the hyperparameters; the caller adds its architecture's own keys and
     * the tensors.
     */
    public GgufWriter writer(GgufFile vocab, String name, OptionalInt fileType) {
        String a = architecture;
        GgufWriter w = new GgufWriter().copyMetadata(vocab, k -> k.startsWith("tokenizer."));
        w.putString("general.architecture", a);
        w.putString("general.name", name);
        if (fileType.isPresent()) w.putUInt32("general.file_type", fileType.getAsInt());
        w.putUInt32(a + ".block_count", blocks);
        w.putUInt32(a + ".context_length", contextLength);
        w.putUInt32(a + ".embedding_length", embedding);
        w.putUInt32(a + ".feed_forward_length", feedForward);
        w.putUInt32(a + ".attention.head_count", heads);
        w.putUInt32(a + ".attention.head_count_kv", kvHeads);
        w.putUInt32(a + ".attention.key_length", headDim);
        w.putUInt32(a + ".attention.value_length", headDim);
        w.putUInt32(a + ".rope.dimension_count", headDim);
        w.putFloat32(a + ".rope.freq_base", ropeFreqBase);
        w.putFloat32(a + ".attention.layer_norm_rms_epsilon", rmsEpsilon);
        return w;
    }

    /** RMSNorm gains near one (1 ± 0.2, uniform), as trained models have them. */
    public static float[] normGains(SplittableRandom random, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (1.0 + (random.nextDouble() - 0.5) * 0.4);
        return v;
    }
}
