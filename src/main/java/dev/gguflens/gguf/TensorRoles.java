package dev.gguflens.gguf;

import java.util.Arrays;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Tensor types and shapes by role, as the pinned llama.cpp's CPU backend needs them during a forward pass:
 * norm weights and biases enter ggml_mul/ggml_add with a float32 activation, and ggml-cpu's binary ops abort
 * ("binary_op: unsupported types") unless the second operand is F32; weight matrices need a type with a CPU
 * dot product (not the activation-only Q8_1/Q8_K, not the integer or F64 types). For the architectures the
 * project builds and tests (llama, qwen2, qwen3, gemma2, gemma3) every standard tensor's shape is checked
 * against the hyperparameters and the required ones must be present.
 */
final class TensorRoles {
    private TensorRoles() {}

    /** Types ggml-cpu has no vec_dot for (type_traits_cpu in ggml-cpu.c): a weight matrix of these cannot be multiplied. */
    static final Set<GgmlType> NO_CPU_PRODUCT = Set.of(GgmlType.Q8_1, GgmlType.Q8_K, GgmlType.I8, GgmlType.I16,
            GgmlType.I32, GgmlType.I64, GgmlType.F64);
    /** Architectures whose standard tensor set (src/models/{llama,qwen2,qwen3,gemma2,gemma3}.cpp) is checked in full. */
    static final Set<String> STANDARD = Set.of("llama", "qwen2", "qwen3", "gemma2", "gemma3");
    private static final Pattern BLOCK = Pattern.compile("blk\\.(\\d{1,9})\\.(.*)");

    static void check(GgufFile file, ModelCompatibility.Hyperparameters hp) {
        for (GgufTensor t : file.tensors()) {
            String name = t.name();
            boolean vector = effectiveDims(t.shape()) <= 1;
            if (vector || name.endsWith("norm.weight") || name.endsWith(".bias")) {
                if (t.type() != GgmlType.F32) {
                    throw fail(file, t, "is " + t.type() + "; norm weights, biases and other vectors must be F32 (llama.cpp's CPU ops take no other type there)");
                }
            } else if (NO_CPU_PRODUCT.contains(t.type())) {
                throw fail(file, t, "is " + t.type() + ", a type llama.cpp's CPU backend cannot multiply a weight matrix in");
            }
            Matcher m = BLOCK.matcher(name);
            if (m.matches() && Long.parseLong(m.group(1)) >= hp.blocks()) {
                throw fail(file, t, "belongs to block " + m.group(1) + " but block_count is " + hp.blocks());
            }
        }
        if (!STANDARD.contains(hp.architecture())) return;

        String p = hp.architecture() + ".";
        long vocab = ModelCompatibility.optional(file, p + "vocab_size",
                file.get(TokenizerRules.TOKENS).map(v -> (long) v.asArray().size()).orElse(0L));
        long e = hp.embedding();
        long[] ff = ModelCompatibility.perLayer(file, p + "feed_forward_length", hp.blocks(), -1);
        expect(file, "token_embd.weight", true, e, vocab);
        expect(file, "output.weight", false, e, vocab);
        expect(file, "output_norm.weight", true, e);
        for (int il = 0; il < hp.blocks(); il++) {
            String b = "blk." + il + ".";
            long q = hp.heads()[il] * hp.headK(), k = hp.kvHeads()[il] * hp.headK(), v = hp.kvHeads()[il] * hp.headV();
            expect(file, b + "attn_norm.weight", true, e);
            expect(file, b + "attn_q.weight", true, e, q);
            expect(file, b + "attn_k.weight", true, e, k);
            expect(file, b + "attn_v.weight", true, e, v);
            expect(file, b + "attn_output.weight", true, hp.heads()[il] * hp.headV(), e);
            expect(file, b + "attn_q.bias", false, q);
            expect(file, b + "attn_k.bias", false, k);
            expect(file, b + "attn_v.bias", false, v);
            if (hp.experts() == 0 && ff[il] > 0) {
                expect(file, b + "ffn_gate.weight", false, e, ff[il]);
                expect(file, b + "ffn_up.weight", true, e, ff[il]);
                expect(file, b + "ffn_down.weight", true, ff[il], e);
            }
        }
    }

    static void checkMatrix(GgufFile file, GgufTensor t) {
        if (NO_CPU_PRODUCT.contains(t.type())) {
            throw fail(file, t, "is " + t.type() + ", a type llama.cpp's CPU backend cannot multiply a weight matrix in");
        }
    }

    private static void expect(GgufFile file, String name, boolean required, long... shape) {
        GgufTensor t = file.tensor(name).orElse(null);
        if (t == null) {
            if (required) throw new GgufException(file.path(), "tensor '" + name + "' is missing; " + file.architecture() + " needs it");
            return;
        }
        if (!sameShape(t.shape(), shape)) {
            throw fail(file, t, "has shape " + Arrays.toString(t.shape()) + ", expected " + Arrays.toString(shape) + " from the hyperparameters");
        }
    }

    /** Shapes compare as ggml compares them: missing trailing dimensions count as 1. */
    static boolean sameShape(long[] actual, long[] expected) {
        for (int d = 0; d < Math.max(actual.length, expected.length); d++) {
            long a = d < actual.length ? actual[d] : 1, x = d < expected.length ? expected[d] : 1;
            if (a != x) return false;
        }
        return true;
    }

    private static int effectiveDims(long[] shape) {
        int n = shape.length;
        while (n > 1 && shape[n - 1] == 1) n--;
        return n;
    }

    private static GgufException fail(GgufFile file, GgufTensor t, String problem) {
        return new GgufException(file.path(), "tensor " + UntrustedText.quoted(t.name()) + " " + problem);
    }
}
