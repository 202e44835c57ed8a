package dev.gguflens.testmodels;

import dev.gguflens.gguf.GgufFile;
import dev.gguflens.gguf.GgufWriter;
import dev.gguflens.llama.ArchitectureMetadata;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalInt;
import java.util.SplittableRandom;

import static dev.gguflens.llama.ArchitectureMetadata.normGains;

/**
 * Small random-weight F32 models that llama.cpp loads as real architectures, for checking the binding and
 * the lens against llama.cpp without downloading anything. Tokenizer metadata is copied from the pinned
 * llama.cpp tree's vocab-only GGUFs; tensor names and keys follow src/llama-arch.cpp and src/models/*.cpp.
 */
public final class RandomModels {
    /** The architectures this class can write. */
    public enum Arch {
        LLAMA("llama", "ggml-vocab-llama-spm.gguf"),
        QWEN2("qwen2", "ggml-vocab-qwen2.gguf"),
        QWEN3("qwen3", "ggml-vocab-qwen2.gguf"),
        GEMMA2("gemma2", "ggml-vocab-llama-spm.gguf");

        public final String name;
        final String vocabFile;

        Arch(String name, String vocabFile) {
            this.name = name;
            this.vocabFile = vocabFile;
        }
    }

    /**
     * Shape of a model. headDim * heads may differ from embedding (qwen3 allows it). K-quants need
     * embedding and feedForward to be multiples of 256, or llama.cpp falls back to another type.
     */
    public record Spec(Arch arch, int blocks, int embedding, int feedForward, int heads, int kvHeads, int headDim,
                       boolean tiedOutput, long seed) {
        public static Spec small(Arch arch, long seed) {
            return new Spec(arch, 2, 64, 128, 4, 2, 16, arch == Arch.GEMMA2, seed);
        }

        /** Wide enough that every weight matrix quantises with K-quant blocks (256 wide). */
        public static Spec kQuantable(Arch arch, long seed) {
            return new Spec(arch, 2, 256, 512, 4, 2, 64, arch == Arch.GEMMA2, seed);
        }
    }

    public static final float RMS_EPS = 1e-6f;
    /** Gemma2's final logit cap; deliberately small so the tanh is far from linear on random logits. */
    public static final float GEMMA2_FINAL_SOFTCAP = 0.5f;
    public static final float GEMMA2_ATTN_SOFTCAP = 50.0f;

    private RandomModels() {}

    /** Writes the model to {@code dir}/&lt;arch&gt;-&lt;seed&gt;.gguf and returns its path. */
    public static Path write(Spec spec, Path llamaCppDir, Path dir) {
        Path vocabFile = llamaCppDir.resolve("models").resolve(spec.arch().vocabFile);
        return writeWithVocabulary(spec, vocabFile, dir.resolve(spec.arch().name + "-" + spec.embedding() + "-" + spec.seed() + ".gguf"));
    }

    /** As {@link #write}, with the tokenizer metadata of {@code vocabFile} (e.g. stories260K's 512 tokens, for small files). */
    public static Path writeWithVocabulary(Spec spec, Path vocabFile, Path out) {
        Path dir = out.toAbsolutePath().getParent();
        try (GgufFile vocab = GgufFile.open(vocabFile)) {
            int nVocab = vocab.vocabulary().size();
            String a = spec.arch().name;
            var header = new ArchitectureMetadata(a, spec.blocks(), 512, spec.embedding(), spec.feedForward(), spec.heads(),
                    spec.kvHeads(), spec.headDim(), 10000f, RMS_EPS);
            GgufWriter w = header.writer(vocab, "random " + a + " (seed " + spec.seed() + ")", OptionalInt.empty());
            if (spec.arch() == Arch.GEMMA2) {
                w.putFloat32(a + ".attn_logit_softcapping", GEMMA2_ATTN_SOFTCAP);
                w.putFloat32(a + ".final_logit_softcapping", GEMMA2_FINAL_SOFTCAP);
                w.putUInt32(a + ".attention.sliding_window", 256);
            }
            addTensors(w, spec, nVocab);
            Files.createDirectories(dir);
            w.write(out);
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write random model " + out, e);
        }
    }

    private static void addTensors(GgufWriter w, Spec s, int nVocab) {
        SplittableRandom rnd = new SplittableRandom(s.seed());
        int e = s.embedding(), ff = s.feedForward(), q = s.heads() * s.headDim(), kv = s.kvHeads() * s.headDim();
        // Gemma scales the embedding by sqrt(n_embd) itself; others get unit-scale rows directly.
        float embdScale = s.arch() == Arch.GEMMA2 ? 1f / (float) Math.sqrt(e) : 1f;
        // Norm weights are the effective gains for every architecture: llama.cpp's gemma2 converter stores (1 + w).
        w.addF32Tensor("token_embd.weight", new long[] {e, nVocab}, uniform(rnd, (long) e * nVocab, embdScale));
        w.addF32Tensor("output_norm.weight", new long[] {e}, normGains(rnd, e));
        if (!s.tiedOutput()) {
            w.addF32Tensor("output.weight", new long[] {e, nVocab}, uniform(rnd, (long) e * nVocab, 1f / (float) Math.sqrt(e)));
        }
        for (int i = 0; i < s.blocks(); i++) {
            String b = "blk." + i + ".";
            w.addF32Tensor(b + "attn_norm.weight", new long[] {e}, normGains(rnd, e));
            w.addF32Tensor(b + "attn_q.weight", new long[] {e, q}, uniform(rnd, (long) e * q, 1f / (float) Math.sqrt(e)));
            w.addF32Tensor(b + "attn_k.weight", new long[] {e, kv}, uniform(rnd, (long) e * kv, 1f / (float) Math.sqrt(e)));
            w.addF32Tensor(b + "attn_v.weight", new long[] {e, kv}, uniform(rnd, (long) e * kv, 1f / (float) Math.sqrt(e)));
            w.addF32Tensor(b + "attn_output.weight", new long[] {q, e}, uniform(rnd, (long) q * e, 1f / (float) Math.sqrt(q)));
            if (s.arch() == Arch.QWEN2) {
                w.addF32Tensor(b + "attn_q.bias", new long[] {q}, uniform(rnd, q, 0.1f));
                w.addF32Tensor(b + "attn_k.bias", new long[] {kv}, uniform(rnd, kv, 0.1f));
                w.addF32Tensor(b + "attn_v.bias", new long[] {kv}, uniform(rnd, kv, 0.1f));
            }
            if (s.arch() == Arch.QWEN3) {
                w.addF32Tensor(b + "attn_q_norm.weight", new long[] {s.headDim()}, normGains(rnd, s.headDim()));
                w.addF32Tensor(b + "attn_k_norm.weight", new long[] {s.headDim()}, normGains(rnd, s.headDim()));
            }
            if (s.arch() == Arch.GEMMA2) {
                w.addF32Tensor(b + "post_attention_norm.weight", new long[] {e}, normGains(rnd, e));
                w.addF32Tensor(b + "post_ffw_norm.weight", new long[] {e}, normGains(rnd, e));
            }
            w.addF32Tensor(b + "ffn_norm.weight", new long[] {e}, normGains(rnd, e));
            w.addF32Tensor(b + "ffn_gate.weight", new long[] {e, ff}, uniform(rnd, (long) e * ff, 1f / (float) Math.sqrt(e)));
            w.addF32Tensor(b + "ffn_up.weight", new long[] {e, ff}, uniform(rnd, (long) e * ff, 1f / (float) Math.sqrt(e)));
            w.addF32Tensor(b + "ffn_down.weight", new long[] {ff, e}, uniform(rnd, (long) ff * e, 1f / (float) Math.sqrt(ff)));
        }
    }

    /** Uniform in [-scale*sqrt(3), scale*sqrt(3)]: standard deviation {@code scale}. */
    private static float[] uniform(SplittableRandom rnd, long n, float scale) {
        float[] v = new float[Math.toIntExact(n)];
        double half = scale * Math.sqrt(3);
        for (int i = 0; i < v.length; i++) v[i] = (float) ((rnd.nextDouble() * 2 - 1) * half);
        return v;
    }
}
