package dev.gguflens.testmodels;

import dev.gguflens.gguf.GgmlType;
import dev.gguflens.gguf.GgufFile;
import dev.gguflens.gguf.GgufTensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * An independent double-precision forward pass of an F32 qwen3 GGUF, written from the architecture (not from
 * llama.cpp's graph code): embedding, then per block RMSNorm, Q/K/V projections, per-head RMSNorm of Q and K
 * (q_norm/k_norm), rotary embedding in the NEOX layout (dimension i pairs with i + d/2, as llama.cpp's
 * LLAMA_ROPE_TYPE_NEOX for qwen3), causal grouped-query attention, output projection, residual, RMSNorm, SwiGLU
 * MLP, residual. Returns the residual stream per layer like the capture: layer 0 = embeddings, layer i = after
 * block i-1.
 */
public final class Qwen3Forward {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final GgufFile file;
    private final int blocks, embd, heads, kvHeads, headDim;
    private final double eps, ropeBase;

    public Qwen3Forward(GgufFile file) {
        this.file = file;
        String a = file.architecture();
        if (!a.equals("qwen3")) throw new IllegalArgumentException("not a qwen3 model: " + a);
        blocks = (int) file.get(a + ".block_count").orElseThrow().asLong();
        embd = (int) file.get(a + ".embedding_length").orElseThrow().asLong();
        heads = (int) file.get(a + ".attention.head_count").orElseThrow().asLong();
        kvHeads = (int) file.get(a + ".attention.head_count_kv").orElseThrow().asLong();
        headDim = (int) file.get(a + ".attention.key_length").orElseThrow().asLong();
        eps = (float) file.get(a + ".attention.layer_norm_rms_epsilon").orElseThrow().asDouble();
        ropeBase = (float) file.get(a + ".rope.freq_base").orElseThrow().asDouble();
    }

    /** states[layer][position][embd] for layers 0..blocks. */
    public double[][][] run(int[] tokens) {
        int n = tokens.length;
        double[][][] states = new double[blocks + 1][n][];
        float[] tokenEmbd = weights("token_embd.weight");
        double[][] h = new double[n][embd];
        for (int p = 0; p < n; p++) for (int c = 0; c < embd; c++) h[p][c] = tokenEmbd[tokens[p] * embd + c];
        states[0] = copy(h);
        int groups = heads / kvHeads;
        for (int b = 0; b < blocks; b++) {
            String pre = "blk." + b + ".";
            float[] attnNorm = weights(pre + "attn_norm.weight"), wq = weights(pre + "attn_q.weight"),
                    wk = weights(pre + "attn_k.weight"), wv = weights(pre + "attn_v.weight"),
                    wo = weights(pre + "attn_output.weight"), qNorm = weights(pre + "attn_q_norm.weight"),
                    kNorm = weights(pre + "attn_k_norm.weight"), ffnNorm = weights(pre + "ffn_norm.weight"),
                    gate = weights(pre + "ffn_gate.weight"), up = weights(pre + "ffn_up.weight"),
                    down = weights(pre + "ffn_down.weight");
            double[][] q = new double[n][], k = new double[n][], v = new double[n][];
            for (int p = 0; p < n; p++) {
                double[] x = rmsNorm(h[p], 0, embd, attnNorm);
                q[p] = matVec(wq, x);
                k[p] = matVec(wk, x);
                v[p] = matVec(wv, x);
                for (int hd = 0; hd < heads; hd++) rope(normHead(q[p], hd, qNorm), hd, p);
                for (int hd = 0; hd < kvHeads; hd++) rope(normHead(k[p], hd, kNorm), hd, p);
            }
            double scale = 1 / Math.sqrt(headDim);
            for (int p = 0; p < n; p++) {
                double[] attended = new double[heads * headDim];
                for (int hd = 0; hd < heads; hd++) {
                    int kvh = hd / groups;
                    double[] scores = new double[p + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int t = 0; t <= p; t++) {
                        double dot = 0;
                        for (int i = 0; i < headDim; i++) dot += q[p][hd * headDim + i] * k[t][kvh * headDim + i];
                        scores[t] = dot * scale;
                        max = Math.max(max, scores[t]);
                    }
                    double sum = 0;
                    for (int t = 0; t <= p; t++) sum += scores[t] = Math.exp(scores[t] - max);
                    for (int t = 0; t <= p; t++) {
                        double w = scores[t] / sum;
                        for (int i = 0; i < headDim; i++) attended[hd * headDim + i] += w * v[t][kvh * headDim + i];
                    }
                }
                double[] out = matVec(wo, attended);
                for (int c = 0; c < embd; c++) h[p][c] += out[c];
                double[] x = rmsNorm(h[p], 0, embd, ffnNorm);
                double[] g = matVec(gate, x), u = matVec(up, x);
                for (int i = 0; i < g.length; i++) g[i] = g[i] / (1 + Math.exp(-g[i])) * u[i];
                double[] mlp = matVec(down, g);
                for (int c = 0; c < embd; c++) h[p][c] += mlp[c];
            }
            states[b + 1] = copy(h);
        }
        return states;
    }

    /** RMSNorm of head {@code head} of {@code x} in place with the per-head weight; returns x. */
    private double[] normHead(double[] x, int head, float[] gamma) {
        double[] normed = rmsNorm(x, head * headDim, headDim, gamma);
        System.arraycopy(normed, 0, x, head * headDim, headDim);
        return x;
    }

    /** NEOX rotation of one head at position p: (x_i, x_{i+d/2}) turned by p * base^(-2i/d). */
    private void rope(double[] x, int head, int p) {
        int half = headDim / 2, o = head * headDim;
        for (int i = 0; i < half; i++) {
            double theta = p * Math.pow(ropeBase, -2.0 * i / headDim);
            double c = Math.cos(theta), s = Math.sin(theta);
            double a = x[o + i], b = x[o + i + half];
            x[o + i] = a * c - b * s;
            x[o + i + half] = a * s + b * c;
        }
    }

    private double[] rmsNorm(double[] x, int offset, int length, float[] gamma) {
        double squares = 0;
        for (int i = 0; i < length; i++) squares += x[offset + i] * x[offset + i];
        double inv = 1 / Math.sqrt(squares / length + eps);
        double[] out = new double[length];
        for (int i = 0; i < length; i++) out[i] = x[offset + i] * inv * gamma[i];
        return out;
    }

    /** W x for a GGUF matrix of rows of length x.length. */
    private static double[] matVec(float[] w, double[] x) {
        int rows = w.length / x.length;
        double[] out = new double[rows];
        for (int r = 0; r < rows; r++) {
            double sum = 0;
            for (int c = 0, base = r * x.length; c < x.length; c++) sum += w[base + c] * x[c];
            out[r] = sum;
        }
        return out;
    }

    private float[] weights(String name) {
        GgufTensor t = file.tensor(name).orElseThrow(() -> new IllegalArgumentException("no tensor " + name));
        if (t.type() != GgmlType.F32) throw new IllegalArgumentException(name + " is " + t.type() + ", not F32");
        MemorySegment data = t.data();
        float[] out = new float[Math.toIntExact(t.elementCount())];
        for (int i = 0; i < out.length; i++) out[i] = data.getAtIndex(F32, i);
        return out;
    }

    private static double[][] copy(double[][] h) {
        double[][] out = new double[h.length][];
        for (int i = 0; i < h.length; i++) out[i] = h[i].clone();
        return out;
    }
}
