package dev.gguflens.testmodels;

import dev.gguflens.gguf.GgmlType;
import dev.gguflens.gguf.GgufFile;
import dev.gguflens.gguf.GgufTensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * An independent double-precision forward pass of an F32 qwen3, llama or gemma2 GGUF, written from the
 * architectures (not from llama.cpp's graph code). Per block: RMSNorm, Q/K/V projections, then
 * <ul>
 *   <li>qwen3: per-head RMSNorm of Q and K (q_norm/k_norm), rotary embedding in the NEOX layout (dimension i
 *       pairs with i + d/2);</li>
 *   <li>llama: rotary embedding in the original layout (dimension 2i pairs with 2i + 1, llama.cpp's
 *       LLAMA_ROPE_TYPE_NORM);</li>
 *   <li>gemma2: embeddings scaled by sqrt(n_embd), NEOX rotation, attention scores capped (c tanh(s / c)),
 *       RMSNorm after the attention and after the MLP (post_attention_norm, post_ffw_norm), a GELU (tanh form)
 *       gated MLP;</li>
 * </ul>
 * causal grouped-query attention with scale 1/sqrt(head_dim), output projection, residual, RMSNorm, SwiGLU
 * (GELU for gemma2) MLP, residual. Returns the residual stream per layer like the capture: layer 0 = embeddings
 * (gemma2: scaled), layer i = after block i-1. Prompts must be shorter than gemma2's sliding window, which is not
 * modelled.
 */
public final class ReferenceForward {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private enum Kind { QWEN3, LLAMA, GEMMA2 }

    private final GgufFile file;
    private final Kind kind;
    private final int blocks, embd, heads, kvHeads, headDim, slidingWindow;
    private final double eps, ropeBase, attentionCap;

    public ReferenceForward(GgufFile file) {
        this.file = file;
        String a = file.architecture();
        kind = switch (a) {
            case "qwen3" -> Kind.QWEN3;
            case "llama" -> Kind.LLAMA;
            case "gemma2" -> Kind.GEMMA2;
            default -> throw new IllegalArgumentException("no reference forward for architecture " + a);
        };
        blocks = (int) file.get(a + ".block_count").orElseThrow().asLong();
        embd = (int) file.get(a + ".embedding_length").orElseThrow().asLong();
        heads = (int) file.get(a + ".attention.head_count").orElseThrow().asLong();
        kvHeads = (int) file.get(a + ".attention.head_count_kv").orElseThrow().asLong();
        headDim = (int) file.get(a + ".attention.key_length").orElseThrow().asLong();
        eps = (float) file.get(a + ".attention.layer_norm_rms_epsilon").orElseThrow().asDouble();
        ropeBase = (float) file.get(a + ".rope.freq_base").orElseThrow().asDouble();
        attentionCap = kind == Kind.GEMMA2 ? (float) file.get(a + ".attn_logit_softcapping").orElseThrow().asDouble() : 0;
        slidingWindow = kind == Kind.GEMMA2 ? (int) file.get(a + ".attention.sliding_window").orElseThrow().asLong()
                : Integer.MAX_VALUE;
    }

    /** states[layer][position][embd] for layers 0..blocks. */
    public double[][][] run(int[] tokens) {
        int n = tokens.length;
        if (n >= slidingWindow) throw new IllegalArgumentException(n + " tokens reach the sliding window " + slidingWindow);
        double[][][] states = new double[blocks + 1][n][];
        float[] tokenEmbd = weights("token_embd.weight");
        double inputScale = kind == Kind.GEMMA2 ? Math.sqrt(embd) : 1;
        double[][] h = new double[n][embd];
        for (int p = 0; p < n; p++) for (int c = 0; c < embd; c++) h[p][c] = tokenEmbd[tokens[p] * embd + c] * inputScale;
        states[0] = copy(h);
        int groups = heads / kvHeads;
        for (int b = 0; b < blocks; b++) {
            String pre = "blk." + b + ".";
            float[] attnNorm = weights(pre + "attn_norm.weight"), wq = weights(pre + "attn_q.weight"),
                    wk = weights(pre + "attn_k.weight"), wv = weights(pre + "attn_v.weight"),
                    wo = weights(pre + "attn_output.weight"), ffnNorm = weights(pre + "ffn_norm.weight"),
                    gate = weights(pre + "ffn_gate.weight"), up = weights(pre + "ffn_up.weight"),
                    down = weights(pre + "ffn_down.weight");
            float[] qNorm = kind == Kind.QWEN3 ? weights(pre + "attn_q_norm.weight") : null;
            float[] kNorm = kind == Kind.QWEN3 ? weights(pre + "attn_k_norm.weight") : null;
            float[] postAttn = kind == Kind.GEMMA2 ? weights(pre + "post_attention_norm.weight") : null;
            float[] postFfn = kind == Kind.GEMMA2 ? weights(pre + "post_ffw_norm.weight") : null;
            double[][] q = new double[n][], k = new double[n][], v = new double[n][];
            for (int p = 0; p < n; p++) {
                double[] x = rmsNorm(h[p], 0, embd, attnNorm);
                q[p] = matVec(wq, x);
                k[p] = matVec(wk, x);
                v[p] = matVec(wv, x);
                for (int hd = 0; hd < heads; hd++) rope(qNorm == null ? q[p] : normHead(q[p], hd, qNorm), hd, p);
                for (int hd = 0; hd < kvHeads; hd++) rope(kNorm == null ? k[p] : normHead(k[p], hd, kNorm), hd, p);
            }
            double scale = 1 / Math.sqrt(headDim);
            // All positions' attention first: the MLP of position p must not see the next positions' updates.
            double[][] attentionOut = new double[n][];
            for (int p = 0; p < n; p++) {
                double[] attended = new double[heads * headDim];
                for (int hd = 0; hd < heads; hd++) {
                    int kvh = hd / groups;
                    double[] scores = new double[p + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int t = 0; t <= p; t++) {
                        double dot = 0;
                        for (int i = 0; i < headDim; i++) dot += q[p][hd * headDim + i] * k[t][kvh * headDim + i];
                        double s = dot * scale;
                        scores[t] = attentionCap > 0 ? attentionCap * Math.tanh(s / attentionCap) : s;
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
                attentionOut[p] = postAttn == null ? out : rmsNorm(out, 0, embd, postAttn);
            }
            for (int p = 0; p < n; p++) {
                for (int c = 0; c < embd; c++) h[p][c] += attentionOut[p][c];
                double[] x = rmsNorm(h[p], 0, embd, ffnNorm);
                double[] g = matVec(gate, x), u = matVec(up, x);
                for (int i = 0; i < g.length; i++) g[i] = activation(g[i]) * u[i];
                double[] mlp = matVec(down, g);
                if (postFfn != null) mlp = rmsNorm(mlp, 0, embd, postFfn);
                for (int c = 0; c < embd; c++) h[p][c] += mlp[c];
            }
            states[b + 1] = copy(h);
        }
        return states;
    }

    /**
     * As {@link #ReferenceForward(GgufFile)}, with gemma2's GELU as ggml's CPU backend rounds it (input and output in
     * F16 through a lookup table) when {@code ggmlGeluTable}: what is left against llama.cpp is then float32
     * arithmetic alone.
     */
    public ReferenceForward(GgufFile file, boolean ggmlGeluTable) {
        this(file);
        this.ggmlGeluTable = ggmlGeluTable;
    }

    private boolean ggmlGeluTable;

    private double activation(double x) {
        if (kind != Kind.GEMMA2) return silu(x);
        return ggmlGeluTable ? geluF16Table(x) : gelu(x);
    }

    private static double silu(double x) {
        return x / (1 + Math.exp(-x));
    }

    /** GELU in its tanh form, as Gemma-2 specifies: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
    private static double gelu(double x) {
        return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
    }

    /**
     * GELU as ggml's CPU backend computes it (GGML_GELU_FP16): the input rounded to F16, looked up in a table of
     * F16 results (exact beyond |x| >= 10).
     */
    private static double geluF16Table(double x) {
        if (x <= -10) return 0;
        if (x >= 10) return x;
        double y = gelu(Float.float16ToFloat(Float.floatToFloat16((float) x)));
        return Float.float16ToFloat(Float.floatToFloat16((float) y));
    }

    /** RMSNorm of head {@code head} of {@code x} in place with the per-head weight; returns x. */
    private double[] normHead(double[] x, int head, float[] gamma) {
        double[] normed = rmsNorm(x, head * headDim, headDim, gamma);
        System.arraycopy(normed, 0, x, head * headDim, headDim);
        return x;
    }

    /**
     * Rotation of one head at position p by p * base^(-2i/d) for pair i: NEOX pairs (x_i, x_{i+d/2}), llama's
     * original layout pairs (x_{2i}, x_{2i+1}).
     */
    private void rope(double[] x, int head, int p) {
        int half = headDim / 2, o = head * headDim;
        for (int i = 0; i < half; i++) {
            double theta = p * Math.pow(ropeBase, -2.0 * i / headDim);
            double c = Math.cos(theta), s = Math.sin(theta);
            int first = kind == Kind.LLAMA ? o + 2 * i : o + i, second = kind == Kind.LLAMA ? first + 1 : first + half;
            double a = x[first], b = x[second];
            x[first] = a * c - b * s;
            x[second] = a * s + b * c;
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
