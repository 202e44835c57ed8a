package dev.gguflens.lens;

import dev.gguflens.gguf.GgmlType;
import dev.gguflens.gguf.GgufException;
import dev.gguflens.gguf.GgufFile;
import dev.gguflens.gguf.GgufTensor;
import dev.gguflens.gguf.GgufValue;
import dev.gguflens.gguf.GgufValueType;
import dev.gguflens.quant.Kernels;
import dev.gguflens.quant.UnsupportedTypeException;
import dev.gguflens.quant.WeightMatrix;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Each block's attention output projection as llama.cpp applies it after {@code kqv_out-i} (the heads' outputs
 * concatenated, head h in columns h*headDim ..): {@code attn = scale * (W_o · kqv) + bias}, then, in
 * architectures with post-norms (Gemma-2/3), {@code RMSNorm(attn) * postNorm} before the residual add.
 *
 * @param headCount query heads per block
 * @param headDim   values per head in kqv_out (the V head size)
 * @param blocks    one entry per block
 */
public record AttentionOutputs(int headCount, int headDim, List<Block> blocks) {

    /**
     * @param weight   {@code blk.i.attn_output.weight}: n_embd rows of headCount*headDim columns, any supported type
     * @param bias     {@code blk.i.attn_output.bias} or null
     * @param scale    {@code blk.i.attn_output.scale} (one value), 1 when absent
     * @param postNorm {@code blk.i.post_attention_norm.weight} or null (RMSNorm gain applied to the attention output)
     * @param epsilon  the post-norm's epsilon (unused without one)
     */
    public record Block(WeightMatrix weight, float[] bias, float scale, float[] postNorm, float epsilon) {
        public Block {
            if (bias != null && bias.length != weight.rows()) {
                throw new IllegalArgumentException("attention output bias has " + bias.length + " values, expected " + weight.rows());
            }
            if (postNorm != null && postNorm.length != weight.rows()) {
                throw new IllegalArgumentException("attention post-norm has " + postNorm.length + " values, expected " + weight.rows());
            }
            if (!Float.isFinite(scale)) throw new IllegalArgumentException("attention output scale " + scale + " is not finite");
        }
    }

    public AttentionOutputs {
        blocks = List.copyOf(blocks);
        if (headCount < 1 || headDim < 1) {
            throw new IllegalArgumentException("head count " + headCount + " and head size " + headDim + " must be >= 1");
        }
        for (Block b : blocks) {
            if (b.weight().cols() != headCount * headDim) {
                throw new IllegalArgumentException("attention output weight has " + b.weight().cols() + " columns, expected "
                        + headCount + " heads x " + headDim);
            }
        }
    }

    /** Embedding length (rows of every output weight). */
    public int width() {
        return blocks.getFirst().weight().rows();
    }

    /** Reads every block's output projection (and post-norm) from the GGUF, the weights kept in the memory map. */
    public static AttentionOutputs fromGguf(GgufFile file) {
        var hp = file.hyperparameters();
        String arch = hp.architecture();
        int width = hp.embeddingLength();
        int heads = scalar(file, arch + ".attention.head_count");
        int headDim = file.get(arch + ".attention.value_length").map(v -> Math.toIntExact(v.asLong()))
                .orElse(heads > 0 && width % heads == 0 ? width / heads : -1);
        if (heads < 1 || headDim < 1) {
            throw new GgufException(file.path(), arch + ".attention.head_count " + heads + " and head size " + headDim
                    + " do not describe attention heads");
        }
        float eps = (float) hp.rmsNormEpsilon().orElse(hp.layerNormEpsilon().orElse(1e-6));
        List<Block> blocks = new ArrayList<>(hp.blockCount());
        for (int i = 0; i < hp.blockCount(); i++) {
            String prefix = "blk." + i + ".";
            GgufTensor w = file.tensor(prefix + "attn_output.weight").orElseThrow(() -> new GgufException(file.path(),
                    "tensor " + prefix + "attn_output.weight is missing; attribution needs every block's attention output weight"));
            if (w.dimensions() != 2 || w.rowLength() != (long) heads * headDim || w.rowCount() != width) {
                throw new GgufException(file.path(), "tensor " + w.name() + " has shape " + java.util.Arrays.toString(w.shape())
                        + ", expected [" + (long) heads * headDim + ", " + width + "]");
            }
            WeightMatrix matrix;
            try {
                matrix = WeightMatrix.of(w);
            } catch (UnsupportedTypeException e) {
                throw new GgufException(file.path(), -1, e.getMessage(), e);
            }
            float[] bias = vector(file, prefix + "attn_output.bias", width).orElse(null);
            float scale = vector(file, prefix + "attn_output.scale", 1).map(v -> v[0]).orElse(1f);
            float[] post = vector(file, prefix + "post_attention_norm.weight", width).orElse(null);
            blocks.add(new Block(matrix, bias, scale, post, eps));
        }
        if (blocks.isEmpty()) throw new GgufException(file.path(), "the model has no blocks");
        try {
            return new AttentionOutputs(heads, headDim, blocks);
        } catch (IllegalArgumentException e) {
            throw new GgufException(file.path(), -1, e.getMessage(), e);
        }
    }

    /** A per-model integer key; per-layer arrays are accepted when every layer has the same value. */
    private static int scalar(GgufFile file, String key) {
        GgufValue v = file.get(key).orElseThrow(() -> new GgufException(file.path(), "key " + key + " is missing"));
        if (v.type() != GgufValueType.ARRAY) return Math.toIntExact(v.asLong());
        long[] values = v.asArray().longs();
        long first = values.length == 0 ? -1 : values[0];
        for (long x : values) {
            if (x != first) {
                throw new GgufException(file.path(), key + " differs between layers; attribution supports one head count");
            }
        }
        return Math.toIntExact(first);
    }

    /** A small vector tensor of exactly {@code expected} elements, dequantised whatever its type; empty when absent. */
    private static Optional<float[]> vector(GgufFile file, String name, int expected) {
        return file.tensor(name).map(t -> {
            if (t.elementCount() != expected) {
                throw new GgufException(file.path(), "tensor " + name + " has " + t.elementCount() + " elements, expected " + expected);
            }
            if (t.type() != GgmlType.F32 && t.type() != GgmlType.F16 && t.type() != GgmlType.BF16) {
                throw new GgufException(file.path(), "tensor " + name + " has type " + t.type() + "; expected F32, F16 or BF16");
            }
            float[] out = new float[expected];
            Kernels.dequantize(t.type(), t.data(), 0, out, 0, expected);
            return out;
        });
    }
}
