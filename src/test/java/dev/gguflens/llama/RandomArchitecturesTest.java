package dev.gguflens.llama;

import dev.gguflens.gguf.GgmlType;
import dev.gguflens.gguf.GgufFile;
import dev.gguflens.gguf.GgufTensor;
import dev.gguflens.quant.Kernels;
import dev.gguflens.quant.WeightMatrix;
import dev.gguflens.testmodels.RandomModels;
import dev.gguflens.testmodels.RandomModels.Arch;
import dev.gguflens.testmodels.RandomModels.Spec;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Path;
import java.util.Map;

import static dev.gguflens.llama.NativeTestSupport.*;
import static dev.gguflens.testmodels.Fixtures.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Random-weight models of four architectures: llama.cpp loads them, the capture has n_layer + 1 states at
 * every position, and an independent Java RMSNorm + projection of the last block output reproduces
 * llama.cpp's result_norm and logits (gemma2's final soft-cap included), for F32 and quantised weights.
 */
class RandomArchitecturesTest {
    /**
     * Logit tolerance, as a fraction of the largest |logit|. F32: only float summation order differs.
     * Quantised: llama.cpp's CPU matmul also quantises the activations (to Q8_0 for Q8_0 weights, to Q8_K
     * for K-quants), about 8 bits per value, which the float reference does not; the weights themselves are
     * dequantised exactly, so the error is that of the activation rounding. Measured worst cases: Q8_0 0.6%,
     * Q6_K 0.9%, Q4_K_M 0.85% (its output.weight is Q6_K); the limits leave about 2x headroom.
     */
    private static final Map<String, Double> LOGIT_TOLERANCE = Map.of(
            "F32", 1e-4, "Q8_0", 1.5e-2, "Q6_K", 2e-2, "Q4_K_M", 2e-2);

    @TempDir static Path dir;

    @ParameterizedTest
    @EnumSource(Arch.class)
    void f32ModelsMatchJavaReference(Arch arch) {
        requireNative();
        Path model = RandomModels.write(Spec.small(arch, 42), llamaCppDir(), dir);
        check(model, arch, "F32");
    }

    @ParameterizedTest
    @CsvSource({"LLAMA, Q8_0", "LLAMA, Q6_K", "LLAMA, Q4_K_M", "GEMMA2, Q8_0", "GEMMA2, Q6_K", "GEMMA2, Q4_K_M"})
    void quantisedModelsMatchJavaReference(Arch arch, String type) {
        requireNative();
        Path f32 = RandomModels.write(Spec.kQuantable(arch, 7), llamaCppDir(), dir);
        Path quantised = dir.resolve(arch.name + "-" + type + ".gguf");
        LlamaQuantizer.quantize(f32, quantised, type, 2);
        try (GgufFile g = GgufFile.open(quantised)) {
            GgmlType ffn = g.tensor("blk.0.ffn_gate.weight").orElseThrow().type();
            assertNotEquals(GgmlType.F32, ffn, "weights must really be quantised");
            if (!type.equals("Q4_K_M")) assertEquals(type, ffn.name(), "blk.0.ffn_gate.weight type");
        }
        check(quantised, arch, type);
    }

    private static double maxAbsDiff(float[] a, double[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
        return m;
    }

    private static double maxAbs(double[] v) {
        double m = 0;
        for (double d : v) m = Math.max(m, Math.abs(d));
        return m;
    }

    private static void check(Path path, Arch arch, String type) {
        int[] tokens = {1, 300, 301, 1000, 17, 5000, 42, 999, 7, 3, 250, 12};
        try (GgufFile gguf = GgufFile.open(path);
             LlamaModel model = LlamaModel.load(path, ModelParams.defaults());
             LlamaContext ctx = LlamaContext.create(model, new ContextParams(64, 5, 2));   // several chunks
             Capture capture = ctx.capture(tokens, CaptureRequest.all())) {
            assertEquals(arch.name, model.architecture());
            int nEmbd = model.embeddingLength();
            assertEquals(model.layerCount() + 1, capture.layers());
            assertEquals(tokens.length, capture.positions());

            float[] gamma = f32(gguf, "output_norm.weight");
            GgufTensor outT = gguf.tensor("output.weight").or(() -> gguf.tensor("token_embd.weight")).orElseThrow();
            float[] output = Kernels.dequantizeRows(new WeightMatrix(outT.type(), outT.data(), (int) outT.shape()[1], nEmbd), 0, (int) outT.shape()[1]);
            double tolerance = LOGIT_TOLERANCE.get(type);
            double worstLogitDiff = 0;
            for (int p = 0; p < tokens.length; p++) {
                for (int layer = 0; layer < capture.layers(); layer++) {
                    for (float v : capture.layerStateArray(layer, p)) assertTrue(Float.isFinite(v), "finite layer " + layer);
                }
                assertFalse(java.util.Arrays.equals(capture.layerStateArray(0, p), capture.layerStateArray(1, p)), "block 0 changes the state");
                double[] norm = rmsNorm(capture.layerStateArray(model.layerCount(), p), gamma, RandomModels.RMS_EPS);
                double normDiff = relativeMaxDiff(capture.resultNormArray(p), norm);
                assertTrue(normDiff <= 1e-5, arch + " " + type + " result_norm at " + p + ": " + normDiff);

                double[] projected = project(output, norm);
                double[] expected = projected.clone();
                if (arch == Arch.GEMMA2) {
                    double cap = RandomModels.GEMMA2_FINAL_SOFTCAP;
                    for (int i = 0; i < expected.length; i++) expected[i] = cap * Math.tanh(projected[i] / cap);
                }
                float[] logits = capture.logitsArray(p);
                // Errors arise in the matmul, before any soft-cap (whose slope is at most 1), so they are
                // measured against the scale of the raw projection.
                double diff = maxAbsDiff(logits, expected) / maxAbs(projected);
                worstLogitDiff = Math.max(worstLogitDiff, diff);
                assertTrue(diff <= tolerance, arch + " " + type + " logits at " + p + ": " + diff + " > " + tolerance);
                if (arch == Arch.GEMMA2) {
                    // without the cap the comparison would be off by far more than any tolerance here
                    assertTrue(maxAbsDiff(logits, projected) / maxAbs(projected) > 0.1, "the soft-cap must matter in this test");
                }
            }
            System.out.printf("%s %s: worst logit diff %.3g of max |logit|%n", arch, type, worstLogitDiff);

            if (type.equals("F32")) {
                // layer 0 is the residual stream entering block 0: the embedding row, scaled by sqrt(n_embd) for gemma
                float[] embd = f32(gguf, "token_embd.weight");
                double scale = arch == Arch.GEMMA2 ? Math.sqrt(nEmbd) : 1.0;
                for (int p = 0; p < tokens.length; p++) {
                    float[] state = capture.layerStateArray(0, p);
                    for (int i = 0; i < nEmbd; i++) {
                        double want = scale * embd[tokens[p] * nEmbd + i];
                        assertEquals(want, state[i], 1e-6 * Math.abs(want) + 1e-12, arch + " layer 0 at " + p);
                    }
                }
            }
        }
    }
}
