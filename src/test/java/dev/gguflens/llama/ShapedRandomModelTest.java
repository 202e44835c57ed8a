package dev.gguflens.llama;

import dev.gguflens.gguf.GgmlType;
import dev.gguflens.gguf.GgufFile;
import dev.gguflens.gguf.GgufTensor;
import dev.gguflens.quant.Kernels;
import dev.gguflens.quant.WeightMatrix;
import dev.gguflens.testmodels.RandomModels;
import dev.gguflens.testmodels.RandomModels.Arch;
import dev.gguflens.testmodels.RandomModels.Spec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

import static dev.gguflens.testmodels.Fixtures.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The shaped random model (scripts/make-qwen3-8b-shaped.sh) at a small width: its tensor types are the ones
 * llama.cpp's own Q4_K_M quantiser picks for an F32 model of the same shape, its weights have the requested
 * spread, and llama.cpp runs it to finite logits through every block.
 */
class ShapedRandomModelTest {
    /** 8 blocks: Q4_K_M's "more bits" rule then picks blocks 0, 3, 6 and 7 (n/8 = 1, 7n/8 = 7, (i - 1) % 3 == 2). */
    private static final ShapedRandomModel.Shape SMALL = new ShapedRandomModel.Shape("small", 8, 256, 512, 4, 2, 64, 512);

    @TempDir static Path dir;

    @Test
    void tensorTypesAndShapesAreLlamaCppsQ4KM() throws Exception {
        requireNative();
        Path ours = dir.resolve("shaped.gguf");
        ShapedRandomModel.write(SMALL, stories260K(), ours, 5, line -> {});
        Path f32 = RandomModels.writeWithVocabulary(new Spec(Arch.QWEN3, 8, 256, 512, 4, 2, 64, false, 5), stories260K(),
                dir.resolve("f32.gguf"));
        Path theirs = dir.resolve("llama-q4km.gguf");
        LlamaQuantizer.quantize(f32, theirs, "Q4_K_M", 2);
        Map<String, String> expected = tensors(theirs);
        assertEquals(expected, tensors(ours));
        assertTrue(expected.values().stream().anyMatch(t -> t.startsWith("Q6_K")), "the comparison covers Q6_K tensors");
        try (GgufFile g = GgufFile.open(ours)) {
            assertEquals("Q4_K_M", dev.gguflens.gguf.FileType.name((int) g.metadata().get("general.file_type").asLong()));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"Q4_K", "Q6_K"})
    void weightsHaveTheRequestedDeviation(String typeName) {
        GgmlType type = GgmlType.valueOf(typeName);
        for (double sigma : new double[] {1.0, 1 / Math.sqrt(4096), 1 / Math.sqrt(12288)}) {
            int rows = 64, cols = 4096;
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment blocks = arena.allocate(type.rowBytes(cols) * rows, 64);
                RandomWeights.fillWithDeviation(type, blocks, new SplittableRandom(9), sigma);
                float[] w = Kernels.dequantizeRows(new WeightMatrix(type, blocks, rows, cols), 0, rows);
                double sum = 0, sq = 0;
                for (float v : w) {
                    assertTrue(Float.isFinite(v));
                    sum += v;
                    sq += (double) v * v;
                }
                double mean = sum / w.length, sd = Math.sqrt(sq / w.length - mean * mean);
                assertEquals(sigma, sd, 0.05 * sigma, type + " standard deviation at sigma " + sigma);
                assertEquals(0, mean, 0.02 * sigma, type + " mean at sigma " + sigma);
            }
        }
    }

    @Test
    void llamaCppRunsItToFiniteStatesAndLogits() throws Exception {
        requireNative();
        Path model = dir.resolve("run.gguf");
        ShapedRandomModel.write(SMALL, stories260K(), model, 11, line -> {});
        int[] tokens = {1, 300, 301, 17, 42, 250};
        try (LlamaModel m = LlamaModel.load(model, new ModelParams(0, true, null));
             LlamaContext ctx = LlamaContext.create(m, new ContextParams(64, 8, 2));
             Capture capture = ctx.capture(tokens, CaptureRequest.all())) {
            assertEquals(SMALL.blocks() + 1, capture.layers());
            for (int p = 0; p < tokens.length; p++) {
                double lastNorm = 0;
                for (int layer = 0; layer < capture.layers(); layer++) {
                    double norm = 0;
                    for (float v : capture.layerStateArray(layer, p)) {
                        assertTrue(Float.isFinite(v), "finite state at layer " + layer);
                        norm += (double) v * v;
                    }
                    lastNorm = Math.sqrt(norm / SMALL.embedding());
                }
                // unit-scale weights keep the residual's RMS of order one after 8 blocks (not 0, not 1e6)
                assertTrue(lastNorm > 0.1 && lastNorm < 100, "residual RMS " + lastNorm);
                float min = Float.MAX_VALUE, max = -Float.MAX_VALUE;
                for (float v : capture.logitsArray(p)) {
                    assertTrue(Float.isFinite(v));
                    min = Math.min(min, v);
                    max = Math.max(max, v);
                }
                assertTrue(max - min > 0.5, "logits spread " + (max - min));
            }
        }
    }

    private static Map<String, String> tensors(Path path) {
        Map<String, String> out = new TreeMap<>();
        try (GgufFile g = GgufFile.open(path)) {
            for (GgufTensor t : g.tensors()) out.put(t.name(), t.type() + " " + java.util.Arrays.toString(t.shape()));
        }
        return out;
    }
}
