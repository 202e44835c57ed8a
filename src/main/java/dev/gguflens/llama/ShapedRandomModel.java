package dev.gguflens.llama;

import dev.gguflens.gguf.GgmlType;
import dev.gguflens.gguf.GgufFile;
import dev.gguflens.gguf.GgufWriter;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.SplittableRandom;
import java.util.function.Consumer;

import static dev.gguflens.llama.ArchitectureMetadata.normGains;

/**
 * A random-weight qwen3 model with a real model's shapes and llama.cpp's Q4_K_M type mix, for measuring speed
 * and memory at full size without downloading weights. The quantised blocks are generated directly
 * ({@link RandomWeights#fillWithDeviation}) while the file is written, so no F16/F32 intermediate (16-32 GB
 * for 8B parameters) and no whole model in memory. Weights have standard deviation 1/sqrt(fan-in) and the
 * embeddings 1, so activations stay of unit scale through every block.
 */
public final class ShapedRandomModel {
    /** A qwen3 shape; the vocabulary comes from the tokenizer file. */
    public record Shape(String name, int blocks, int embedding, int feedForward, int heads, int kvHeads, int headDim,
                        int contextLength) {
        public Shape {
            Objects.requireNonNull(name, "name");
            if (blocks < 1 || embedding < 1 || feedForward < 1 || heads < 1 || kvHeads < 1 || headDim < 2 || contextLength < 1) {
                throw new IllegalArgumentException("shape " + name + ": every dimension must be positive");
            }
            if (heads % kvHeads != 0) throw new IllegalArgumentException("shape " + name + ": kv heads must divide heads");
            int k = GgmlType.Q4_K.blockSize;
            if (embedding % k != 0 || feedForward % k != 0 || heads * headDim % k != 0) {
                throw new IllegalArgumentException("shape " + name + ": row lengths (embedding, feed-forward, heads x head dim) must be multiples of " + k + " (K-quant blocks)");
            }
        }

        /** Qwen3-8B (config.json of Qwen/Qwen3-8B): 36 blocks, 4096 wide, 12288 FFN, 32 heads, 8 KV heads, head 128. */
        public static final Shape QWEN3_8B = new Shape("Qwen3-8B", 36, 4096, 12288, 32, 8, 128, 40960);

        public Shape withBlocks(int n) {
            return new Shape(name + " (" + n + " blocks)", n, embedding, feedForward, heads, kvHeads, headDim, contextLength);
        }
    }

    /** llama.cpp's LLAMA_FTYPE_MOSTLY_Q4_K_M, stored as general.file_type. */
    static final int FILE_TYPE_Q4_K_M = 15;

    private ShapedRandomModel() {}

    /**
     * The type llama.cpp's Q4_K_M gives a block's attn_v or ffn_down (src/llama-quant.cpp: Q6_K where
     * use_more_bits(i, n), i.e. the first and last eighth of the blocks and every third one between; else Q4_K).
     */
    static GgmlType q4KmMoreBitsType(int block, int blocks) {
        boolean more = block < blocks / 8 || block >= 7 * blocks / 8 || (block - blocks / 8) % 3 == 2;
        return more ? GgmlType.Q6_K : GgmlType.Q4_K;
    }

    /**
     * Writes the model into {@code staged} (an existing file the caller stages and publishes) with the tokenizer metadata of {@code vocabFile} (a qwen2-style
     * BPE GGUF such as the llama.cpp tree's models/ggml-vocab-qwen2.gguf: 151936 tokens, Qwen3's vocabulary size).
     *
     * @param progress receives one line per written tensor group (may be a no-op)
     */
    public static void write(Shape shape, Path vocabFile, Path staged, long seed, Consumer<String> progress) throws IOException {
        try (GgufFile vocab = GgufFile.open(vocabFile)) {
            int nVocab = vocab.vocabulary().size();
            // Qwen3's RoPE base and epsilon (config.json of Qwen/Qwen3-8B: rope_theta 1e6, rms_norm_eps 1e-6).
            var header = new ArchitectureMetadata("qwen3", shape.blocks(), shape.contextLength(), shape.embedding(),
                    shape.feedForward(), shape.heads(), shape.kvHeads(), shape.headDim(), 1_000_000f, 1e-6f);
            GgufWriter w = header.writer(vocab, shape.name() + "-shaped random Q4_K_M (seed " + seed + ")",
                    OptionalInt.of(FILE_TYPE_Q4_K_M));
            addTensors(w, shape, nVocab, seed, progress);
            w.writeInto(staged);
        }
    }

    private static void addTensors(GgufWriter w, Shape s, int nVocab, long seed, Consumer<String> progress) {
        SplittableRandom seeds = new SplittableRandom(seed);
        int e = s.embedding(), ff = s.feedForward(), q = s.heads() * s.headDim(), kv = s.kvHeads() * s.headDim();
        long[] embd = {e, nVocab};
        w.addTensor("token_embd.weight", GgmlType.Q4_K, embd, source(GgmlType.Q4_K, seeds.split(), 1.0, embd, null));
        w.addF32Tensor("output_norm.weight", new long[] {e}, normGains(seeds.split(), e));
        w.addTensor("output.weight", GgmlType.Q6_K, embd,
                source(GgmlType.Q6_K, seeds.split(), 1 / Math.sqrt(e), embd, () -> progress.accept("output.weight written")));
        for (int i = 0; i < s.blocks(); i++) {
            String b = "blk." + i + ".";
            GgmlType more = q4KmMoreBitsType(i, s.blocks());
            double inE = 1 / Math.sqrt(e);
            w.addF32Tensor(b + "attn_norm.weight", new long[] {e}, normGains(seeds.split(), e));
            long[] toQ = {e, q}, toKv = {e, kv}, fromQ = {q, e}, toFf = {e, ff}, fromFf = {ff, e};
            w.addTensor(b + "attn_q.weight", GgmlType.Q4_K, toQ, source(GgmlType.Q4_K, seeds.split(), inE, toQ, null));
            w.addTensor(b + "attn_k.weight", GgmlType.Q4_K, toKv, source(GgmlType.Q4_K, seeds.split(), inE, toKv, null));
            w.addTensor(b + "attn_v.weight", more, toKv, source(more, seeds.split(), inE, toKv, null));
            w.addTensor(b + "attn_output.weight", GgmlType.Q4_K, fromQ, source(GgmlType.Q4_K, seeds.split(), 1 / Math.sqrt(q), fromQ, null));
            w.addF32Tensor(b + "attn_q_norm.weight", new long[] {s.headDim()}, normGains(seeds.split(), s.headDim()));
            w.addF32Tensor(b + "attn_k_norm.weight", new long[] {s.headDim()}, normGains(seeds.split(), s.headDim()));
            w.addF32Tensor(b + "ffn_norm.weight", new long[] {e}, normGains(seeds.split(), e));
            w.addTensor(b + "ffn_gate.weight", GgmlType.Q4_K, toFf, source(GgmlType.Q4_K, seeds.split(), inE, toFf, null));
            w.addTensor(b + "ffn_up.weight", GgmlType.Q4_K, toFf, source(GgmlType.Q4_K, seeds.split(), inE, toFf, null));
            int block = i;
            w.addTensor(b + "ffn_down.weight", more, fromFf, source(more, seeds.split(), 1 / Math.sqrt(ff), fromFf,
                    () -> progress.accept("block " + (block + 1) + "/" + s.blocks() + " written")));
        }
    }

    /** Generates a tensor's blocks in file order from one random stream; {@code done} runs after its last chunk. */
    private static GgufWriter.BlockSource source(GgmlType type, SplittableRandom random, double sigma, long[] shape,
                                                 Runnable done) {
        long bytes = type.rowBytes(shape[0]) * shape[1];
        return (offset, chunk) -> {
            RandomWeights.fillWithDeviation(type, chunk, random, sigma);
            if (done != null && offset + chunk.byteSize() == bytes) done.run();
        };
    }
}
