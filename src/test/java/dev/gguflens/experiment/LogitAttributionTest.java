package dev.gguflens.experiment;

import dev.gguflens.gguf.GgmlType;
import dev.gguflens.gguf.GgufFile;
import dev.gguflens.gguf.GgufTensor;
import dev.gguflens.lens.AttentionOutputs;
import dev.gguflens.lens.Attribution;
import dev.gguflens.lens.HeadLookup;
import dev.gguflens.lens.LensHead;
import dev.gguflens.lens.LogitAttribution;
import dev.gguflens.lens.ResidualSites;
import dev.gguflens.llama.Capture;
import dev.gguflens.llama.ContextParams;
import dev.gguflens.llama.LlamaContext;
import dev.gguflens.llama.LlamaModel;
import dev.gguflens.llama.LlamaQuantizer;
import dev.gguflens.llama.ModelParams;
import dev.gguflens.quant.Kernels;
import dev.gguflens.quant.WeightMatrix;
import dev.gguflens.testmodels.RandomModels;
import dev.gguflens.testmodels.RandomModels.Arch;
import dev.gguflens.testmodels.RandomModels.Spec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;

import static dev.gguflens.testmodels.Fixtures.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Direct logit attribution against independent references: the parts sum to llama.cpp's own logit (pre-softcap for
 * gemma2, via atanh) within 1e-4 relative; each head's share, recomputed here in double from the captured kqv_out
 * and the GGUF's weights read byte by byte, agrees within 1e-5 relative; the mid-block state llama.cpp names
 * (ffn_inp / sa_out) is the block input plus the attention output recomputed here.
 */
class LogitAttributionTest {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int[] TOKENS = {1, 300, 301, 1000, 17, 5000, 42, 999, 7, 3, 250, 12};

    @TempDir static Path dir;

    @ParameterizedTest
    @EnumSource(value = Arch.class, names = {"LLAMA", "QWEN2", "QWEN3", "GEMMA2"})
    void randomF32ModelsDecomposeExactly(Arch arch) {
        requireNative();
        Path model = RandomModels.write(Spec.small(arch, 11), llamaCppDir(), dir);
        check(model, TOKENS, TOKENS.length - 1, -1, -1, true);
        check(model, TOKENS, 5, -1, -1, true);
    }

    @Test
    void stories260KLily() {
        requireNative();
        Path model = stories260K();
        try (LlamaModel m = LlamaModel.load(model, ModelParams.defaults())) {
            String prompt = "Once upon a time, there was a little girl named";
            int[] tokens = m.tokenize(prompt, true, false);
            int[] withAnswer = m.tokenize(prompt + " Lily", true, false);
            int lily = withAnswer[tokens.length];
            assertEquals("▁Lily", m.tokenText(lily));
            Attribution a = check(model, tokens, tokens.length - 1, lily, -1, true);
            assertEquals(lily, a.answerId());
            assertTrue(a.sumOfParts() > 5, "Lily's logit is large: " + a.sumOfParts());
            int other = m.tokenize(prompt + " Sue", true, false)[tokens.length];
            Attribution vs = check(model, tokens, tokens.length - 1, lily, other, true);
            assertEquals(a.answerId(), vs.answerId());
        }
    }

    /** Quantised output projections go through the dequantisation kernels; the heads still match a double reference. */
    @Test
    void quantisedAttentionOutputSplitsIntoHeads() {
        requireNative();
        Path f32 = RandomModels.write(Spec.kQuantable(Arch.LLAMA, 5), llamaCppDir(), dir);
        Path q = dir.resolve("llama-attr-Q4_K_M.gguf");
        LlamaQuantizer.quantize(f32, q, "Q4_K_M", 2);
        try (GgufFile g = GgufFile.open(q)) {
            assertNotEquals(GgmlType.F32, g.tensor("blk.0.attn_output.weight").orElseThrow().type());
        }
        // llama.cpp rounds activations to 8 bits before a quantised matmul, so its logit is not the float identity's
        check(q, TOKENS, TOKENS.length - 1, -1, -1, false);
    }

    /**
     * Captures the sub-layer sites, attributes {@code answer} (-1: the top token) less {@code other} (-1: none), checks
     * the identity against llama.cpp and each head against the reference below.
     */
    private static Attribution check(Path path, int[] tokens, int position, int answer, int other, boolean identity) {
        try (GgufFile gguf = GgufFile.open(path);
             LlamaModel model = LlamaModel.load(path, ModelParams.defaults());
             LlamaContext ctx = LlamaContext.create(model, new ContextParams(64, 512, 2));
             Capture capture = ctx.capture(tokens, SublayerSites.request(model.layerCount(), true))) {
            LensHead head = HeadLookup.fromGguf(gguf);
            AttentionOutputs attention = AttentionOutputs.fromGguf(gguf);
            ResidualSites sites = SublayerSites.at(capture, position, model.architecture());
            float[] logits = capture.logitsArray(position);
            if (answer < 0) answer = pickAnswer(logits, head);
            if (other == answer) other = -1;
            Attribution a = LogitAttribution.compute(head, attention, sites, answer, other, logits, 2);
            String what = path.getFileName() + " pos " + position + " answer " + answer + (other >= 0 ? " vs " + other : "");
            System.out.printf("%s: sum of parts %.7f, llama.cpp %.7f, rel %.2e%n", what, a.sumOfParts(), a.reference(),
                    a.relativeError());
            if (identity) assertTrue(a.relativeError() <= 1e-4, what + ": identity off by " + a.relativeError());
            if (head.softcap().isPresent() && identity && other < 0) {
                double cap = head.softcap().getAsDouble();
                assertEquals(logits[answer], cap * Math.tanh(a.sumOfParts() / cap), 1e-4 * Math.abs(logits[answer]) + 1e-7,
                        what + ": the softcapped sum is llama.cpp's logit");
            }

            // independent reference in double
            Reference ref = new Reference(gguf, model.architecture());
            double[] u = ref.direction(sites.residual()[sites.blocks()], answer, other);
            double sum = dot(sites.residual()[0], u) + ref.constant(answer, other);
            for (int i = 0; i < sites.blocks(); i++) {
                float[] kqv = sites.heads()[i];
                double[][] perHead = ref.headOutputs(i, kqv);            // [head][row], before any post-norm
                double[] raw = new double[ref.width];
                for (double[] h : perHead) for (int r = 0; r < raw.length; r++) raw[r] += h[r];
                double[] e = u.clone();
                double[] entering = raw.clone();
                float[] post = ref.postNorm(i);
                if (post != null) {
                    double ms = 0;
                    for (double x : raw) ms += x * x;
                    double inv = 1 / Math.sqrt(ms / raw.length + RandomModels.RMS_EPS);
                    for (int r = 0; r < raw.length; r++) {
                        e[r] = u[r] * post[r] * inv;
                        entering[r] = raw[r] * post[r] * inv;
                    }
                }
                Attribution.Block block = a.blocks().get(i);
                double scaleOfBlock = 0;
                for (int h = 0; h < perHead.length; h++) scaleOfBlock = Math.max(scaleOfBlock, Math.abs(dot(perHead[h], e)));
                for (int h = 0; h < perHead.length; h++) {
                    double want = dot(perHead[h], e);
                    assertEquals(want, block.head(h), 1e-5 * Math.abs(want) + 1e-12 * scaleOfBlock,
                            what + " block " + i + " head " + h);
                }
                // the mid-block state is the block input plus the attention output
                float[] in = sites.residual()[i], mid = sites.mid()[i];
                double worst = 0, size = 0;
                for (int r = 0; r < ref.width; r++) {
                    worst = Math.max(worst, Math.abs(mid[r] - (in[r] + entering[r])));
                    size = Math.max(size, Math.abs(mid[r]));
                }
                double tol = identity ? 1e-5 : 2e-2;   // quantised: llama.cpp's 8-bit activations in W_o's product
                assertTrue(worst <= tol * size, what + " block " + i + ": mid - (input + attention) = " + worst + " of " + size);
                sum += block.attention() + block.mlp();
                double parts = 0;
                for (double h : block.heads()) parts += Math.abs(h);
                if (identity) {
                    assertTrue(Math.abs(block.remainder()) <= 1e-4 * (parts + Math.abs(block.attention())),
                            what + " block " + i + " remainder " + block.remainder());
                }
            }
            assertEquals(sum, a.sumOfParts(), 1e-9 * Math.abs(sum) + 1e-12, what + ": parts recomputed");
            return a;
        }
    }

    /** The top token, or for a soft-capped model one whose logit is well inside the cap (atanh stays well-conditioned). */
    private static int pickAnswer(float[] logits, LensHead head) {
        int best = 0;
        if (head.softcap().isEmpty()) {
            for (int i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
            return best;
        }
        double cap = head.softcap().getAsDouble();
        best = -1;
        for (int i = 0; i < logits.length; i++) {
            if (Math.abs(logits[i]) < 0.5 * cap && (best < 0 || logits[i] > logits[best])) best = i;
        }
        return best;
    }

    private static double dot(float[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }

    /** The GGUF's weights read directly (F32) or through the dequantisation kernels (quantised), all maths in double. */
    private static final class Reference {
        final GgufFile gguf;
        final int width, heads, headDim;

        Reference(GgufFile gguf, String arch) {
            this.gguf = gguf;
            this.width = Math.toIntExact(gguf.get(arch + ".embedding_length").orElseThrow().asLong());
            this.heads = Math.toIntExact(gguf.get(arch + ".attention.head_count").orElseThrow().asLong());
            this.headDim = gguf.get(arch + ".attention.value_length").map(v -> Math.toIntExact(v.asLong())).orElse(width / heads);
        }

        float[] floats(String name) {
            GgufTensor t = gguf.tensor(name).orElseThrow();
            int n = Math.toIntExact(t.elementCount());
            if (t.type() == GgmlType.F32) {
                float[] out = new float[n];
                for (int i = 0; i < n; i++) out[i] = t.data().getAtIndex(F32, i);
                return out;
            }
            return Kernels.dequantizeRows(WeightMatrix.of(t), 0, Math.toIntExact(t.rowCount()));
        }

        float[] outputRow(int token) {
            String name = gguf.tensor("output.weight").isPresent() ? "output.weight" : "token_embd.weight";
            float[] all = floats(name);
            float[] row = new float[width];
            System.arraycopy(all, token * width, row, 0, width);
            return row;
        }

        /** γ ⊙ (W[a] - W[b]) / rms(h_final), the final norm's scale frozen. */
        double[] direction(float[] finalState, int answer, int other) {
            float[] gamma = floats("output_norm.weight");
            double ms = 0;
            for (float x : finalState) ms += (double) x * x;
            double eps = gguf.get(gguf.architecture() + ".attention.layer_norm_rms_epsilon").orElseThrow().asDouble();
            double inv = 1 / Math.sqrt(ms / width + (float) eps);
            float[] wa = outputRow(answer);
            float[] wb = other >= 0 ? outputRow(other) : new float[width];
            double[] u = new double[width];
            for (int j = 0; j < width; j++) u[j] = gamma[j] * ((double) wa[j] - wb[j]) * inv;
            return u;
        }

        double constant(int answer, int other) {
            return 0;   // none of these models has an output bias or a norm bias
        }

        /** out[h][r] = Σ_{c in head h} W_o[r][c] kqv[c] (+ bias spread over nothing: these models have none). */
        double[][] headOutputs(int block, float[] kqv) {
            float[] w = floats("blk." + block + ".attn_output.weight");
            int cols = heads * headDim;
            double[][] out = new double[heads][width];
            for (int h = 0; h < heads; h++) {
                for (int r = 0; r < width; r++) {
                    double s = 0;
                    for (int d = 0; d < headDim; d++) s += (double) w[r * cols + h * headDim + d] * kqv[h * headDim + d];
                    out[h][r] = s;
                }
            }
            return out;
        }

        float[] postNorm(int block) {
            String name = "blk." + block + ".post_attention_norm.weight";
            return gguf.tensor(name).isPresent() ? floats(name) : null;
        }
    }
}
