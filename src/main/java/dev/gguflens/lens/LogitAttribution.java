package dev.gguflens.lens;

import dev.gguflens.quant.Kernels;
import dev.gguflens.quant.ParallelFor;

import java.util.ArrayList;
import java.util.List;

/**
 * Direct logit attribution: the final residual is the embedding plus every block's attention and MLP output, so with
 * the final norm's scale frozen at the final residual's value the (pre-softcap) logit of a token is a sum of one
 * dot product per part: {@code part · u} with {@code u = γ ⊙ W[answer] / rms(h_final)} (times the logit scale;
 * LayerNorm also centres, which is the same as centring {@code u}). Each attention output splits further into its
 * heads, since {@code W_o · kqv = Σ_h W_o[:, head h] · kqv[head h]}; the output weight is read once per block, a
 * chunk of rows at a time, in any quantised type, with double accumulation. Where the model post-norms the
 * attention output (Gemma-2/3), heads go through that norm with its RMS frozen at the block's own value, so they
 * still sum to what entered the residual.
 */
public final class LogitAttribution {
    /** Output-projection rows dequantised together (64 x 4096 floats = 1 MiB). */
    private static final int ROW_CHUNK = 64;

    private LogitAttribution() {}

    /**
     * @param head           the model's final norm and output weight
     * @param attention      every block's attention output projection
     * @param sites          the residual stream at the attributed position
     * @param answer         the token whose logit is decomposed
     * @param other          a token whose logit is subtracted, or -1
     * @param llamaLogits    llama.cpp's logits at that position (the reference for the identity), or null
     * @param threads        threads for the output-projection pass
     */
    public static Attribution compute(LensHead head, AttentionOutputs attention, ResidualSites sites, int answer, int other,
                                      float[] llamaLogits, int threads) {
        int width = head.embeddingLength();
        int vocab = head.vocabularySize();
        checkToken(answer, vocab, "answer");
        if (other != -1) checkToken(other, vocab, "other");
        if (other == answer) throw new IllegalArgumentException("the answer and the token it is compared with are the same (" + answer + ")");
        if (sites.residual()[0].length != width || attention.width() != width) {
            throw new IllegalArgumentException("residual width " + sites.residual()[0].length + ", attention width "
                    + attention.width() + " and the lens head's " + width + " differ");
        }
        if (sites.blocks() != attention.blocks().size()) {
            throw new IllegalArgumentException(sites.blocks() + " blocks captured but the model has " + attention.blocks().size());
        }
        if (sites.heads()[0].length != attention.headCount() * attention.headDim()) {
            throw new IllegalArgumentException("kqv_out has " + sites.heads()[0].length + " values, expected "
                    + attention.headCount() + " heads x " + attention.headDim());
        }

        float[] finalState = sites.residual()[sites.blocks()];
        double normScale = frozenNormScale(head, finalState);
        double logitScale = head.logitScale().orElse(1.0);
        float[] wAnswer = head.output().dequantizeRows(answer, 1);
        float[] wOther = other < 0 ? null : head.output().dequantizeRows(other, 1);
        double[] u = new double[width];
        double constant = 0;
        for (int j = 0; j < width; j++) {
            double w = other < 0 ? wAnswer[j] : (double) wAnswer[j] - wOther[j];
            u[j] = head.normWeight()[j] * w * normScale * logitScale;
            if (head.normBias() != null) constant += head.normBias()[j] * w * logitScale;
        }
        if (head.norm() == NormKind.LAYER_NORM) {
            double mean = 0;
            for (double x : u) mean += x;
            mean /= width;
            for (int j = 0; j < width; j++) u[j] -= mean;
        }
        if (head.outputBias() != null) {
            constant += logitScale * (head.outputBias()[answer] - (other < 0 ? 0 : head.outputBias()[other]));
        }

        double embedding = dot(sites.residual()[0], u);
        double sum = embedding + constant;
        List<Attribution.Block> blocks = new ArrayList<>(sites.blocks());
        for (int i = 0; i < sites.blocks(); i++) {
            float[] in = sites.residual()[i], mid = sites.mid()[i], out = sites.residual()[i + 1];
            double attn = differenceDot(mid, in, u);
            double mlp = differenceDot(out, mid, u);
            HeadSplit split = splitHeads(attention.blocks().get(i), attention.headCount(), attention.headDim(),
                    sites.heads()[i], u, threads);
            double headSum = 0;
            for (double h : split.heads) headSum += h;
            blocks.add(new Attribution.Block(i, attn, mlp, split.heads, split.bias, attn - headSum - split.bias));
            sum += attn + mlp;
        }
        double reference = Double.NaN;
        double cap = head.softcap().orElse(Double.NaN);
        if (llamaLogits != null) {
            if (llamaLogits.length != vocab) {
                throw new IllegalArgumentException("llama.cpp's logits have " + llamaLogits.length + " values, vocabulary " + vocab);
            }
            reference = preSoftcap(llamaLogits[answer], cap) - (other < 0 ? 0 : preSoftcap(llamaLogits[other], cap));
        }
        boolean postNormed = attention.blocks().stream().anyMatch(b -> b.postNorm() != null);
        return new Attribution(answer, other, embedding, blocks, constant, sum, reference, normScale, cap, postNormed);
    }

    /**
     * Block {@code block}'s attention output as llama.cpp adds it to the residual, recomputed from {@code kqv} in
     * double: {@code scale * W_o · kqv + bias}, then the post-norm where the model has one.
     */
    public static double[] attentionOutput(AttentionOutputs.Block block, float[] kqv) {
        int rows = block.weight().rows(), cols = block.weight().cols();
        double[] out = new double[rows];
        float[] w = Kernels.dequantizeRows(block.weight(), 0, rows);
        for (int r = 0; r < rows; r++) {
            double s = 0;
            for (int c = 0; c < cols; c++) s += (double) w[r * cols + c] * kqv[c];
            out[r] = block.scale() * s + (block.bias() == null ? 0 : block.bias()[r]);
        }
        if (block.postNorm() != null) {
            double inv = 1 / Math.sqrt(meanSquare(out) + block.epsilon());
            for (int r = 0; r < rows; r++) out[r] *= inv * block.postNorm()[r];
        }
        return out;
    }

    private record HeadSplit(double[] heads, double bias) {}

    /**
     * One pass over the block's output weight: s[r][h] = W_o[r, head h] · kqv[head h] for every row r, then each
     * head's share {@code scale * Σ_r e_r s[r][h]} with e = u, or u ⊙ post / rms(attention output) under a post-norm.
     */
    private static HeadSplit splitHeads(AttentionOutputs.Block block, int headCount, int headDim, float[] kqv, double[] u,
                                        int threads) {
        int rows = block.weight().rows();
        double[] s = new double[rows * headCount];
        int chunks = (rows + ROW_CHUNK - 1) / ROW_CHUNK;
        // Each part fills its own rows of s, so the split does not depend on the thread count.
        int parts = Math.max(1, Math.min(threads, chunks));
        ParallelFor.parts(parts, p -> headRows(block, headCount, headDim, kqv, s, chunks * p / parts, chunks * (p + 1) / parts));

        double[] e = u;
        float scale = block.scale();
        if (block.postNorm() != null) {
            double[] raw = new double[rows];
            for (int r = 0; r < rows; r++) {
                double sum = 0;
                for (int h = 0; h < headCount; h++) sum += s[r * headCount + h];
                raw[r] = scale * sum + (block.bias() == null ? 0 : block.bias()[r]);
            }
            double inv = 1 / Math.sqrt(meanSquare(raw) + block.epsilon());
            e = new double[rows];
            for (int r = 0; r < rows; r++) e[r] = u[r] * block.postNorm()[r] * inv;
        }
        double[] heads = new double[headCount];
        double bias = 0;
        for (int r = 0; r < rows; r++) {
            for (int h = 0; h < headCount; h++) heads[h] += e[r] * s[r * headCount + h];
            if (block.bias() != null) bias += e[r] * block.bias()[r];
        }
        for (int h = 0; h < headCount; h++) heads[h] *= scale;
        return new HeadSplit(heads, bias);
    }

    private static void headRows(AttentionOutputs.Block block, int headCount, int headDim, float[] kqv, double[] s,
                                 int chunkFrom, int chunkTo) {
        int rows = block.weight().rows(), cols = block.weight().cols();
        for (int chunk = chunkFrom; chunk < chunkTo; chunk++) {
            int r0 = chunk * ROW_CHUNK, n = Math.min(ROW_CHUNK, rows - r0);
            float[] w = Kernels.dequantizeRows(block.weight(), r0, n);
            for (int r = 0; r < n; r++) {
                int base = r * cols;
                for (int h = 0; h < headCount; h++) {
                    double sum = 0;
                    int c0 = h * headDim;
                    for (int d = 0; d < headDim; d++) sum += (double) w[base + c0 + d] * kqv[c0 + d];
                    s[(r0 + r) * headCount + h] = sum;
                }
            }
        }
    }

    /** 1/rms for RMSNorm, 1/std for LayerNorm, in double, eps inside the root as llama.cpp has it. */
    static double frozenNormScale(LensHead head, float[] h) {
        int n = h.length;
        if (head.norm() == NormKind.RMS_NORM) {
            double ms = 0;
            for (float x : h) ms += (double) x * x;
            return 1 / Math.sqrt(ms / n + head.epsilon());
        }
        double mean = 0;
        for (float x : h) mean += x;
        mean /= n;
        double var = 0;
        for (float x : h) var += (x - mean) * (x - mean);
        return 1 / Math.sqrt(var / n + head.epsilon());
    }

    /** z with logit = c tanh(z / c); the logit itself without a cap; NaN where tanh cannot be inverted. */
    static double preSoftcap(double logit, double cap) {
        if (Double.isNaN(cap)) return logit;
        double t = logit / cap;
        if (!(Math.abs(t) < 1)) return Double.NaN;
        return cap * 0.5 * Math.log((1 + t) / (1 - t));
    }

    private static double dot(float[] a, double[] u) {
        double s = 0;
        for (int j = 0; j < a.length; j++) s += a[j] * u[j];
        return s;
    }

    /** (a - b) · u with the difference taken in double (exact for floats of similar size). */
    private static double differenceDot(float[] a, float[] b, double[] u) {
        double s = 0;
        for (int j = 0; j < a.length; j++) s += ((double) a[j] - b[j]) * u[j];
        return s;
    }

    private static double meanSquare(double[] v) {
        double s = 0;
        for (double x : v) s += x * x;
        return s / v.length;
    }

    private static void checkToken(int id, int vocab, String what) {
        if (id < 0 || id >= vocab) throw new IllegalArgumentException(what + " token " + id + " is outside the vocabulary [0, " + vocab + ")");
    }
}
