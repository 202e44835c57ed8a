package dev.gguflens.quant;

import dev.gguflens.gguf.GgmlType;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Kernel results must not depend on the JIT's state: the lens compares logits exactly. */
class FloatLanesTest {

    @Test
    void sumFoldsHalvesInAFixedOrder() {
        var species = FloatVector.SPECIES_PREFERRED;
        SplittableRandom rnd = new SplittableRandom(3);
        for (int trial = 0; trial < 1000; trial++) {
            float[] lanes = new float[species.length()];
            for (int i = 0; i < lanes.length; i++) lanes[i] = (float) ((rnd.nextDouble() - 0.5) * Math.pow(10, rnd.nextInt(-6, 7)));
            float[] fold = lanes.clone();
            for (int half = fold.length / 2; half >= 1; half /= 2) {
                for (int i = 0; i < half; i++) fold[i] = fold[i] + fold[i + half];
            }
            assertEquals(Float.floatToRawIntBits(fold[0]),
                    Float.floatToRawIntBits(FloatLanes.sum(FloatVector.fromArray(species, lanes, 0))), "trial " + trial);
        }
    }

    @Test
    void coldAndWarmKernelsGiveTheSameBits() {
        int rows = 64, cols = 512;
        SplittableRandom rnd = new SplittableRandom(9);
        float[] weights = new float[rows * cols];
        for (int i = 0; i < weights.length; i++) weights[i] = (float) rnd.nextGaussian();
        float[] x = new float[3 * cols];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        for (GgmlType type : new GgmlType[] {GgmlType.F32, GgmlType.F16, GgmlType.Q8_0, GgmlType.Q4_0}) {
            byte[] raw = Quantizer.quantize(type, weights, cols);
            try (Arena arena = Arena.ofShared()) {
                MemorySegment data = QuantTestData.offHeap(arena, raw);
                WeightMatrix w = new WeightMatrix(type, data, rows, cols);
                for (int m : new int[] {1, 3}) {
                    float[] cold = new float[m * rows];
                    FusedMatmul.multiply(w, x, m, cold, 1);
                    float[] warm = new float[m * rows];
                    for (int rep = 0; rep < 3000; rep++) FusedMatmul.multiply(w, x, m, warm, rep % 2 + 1);
                    assertArrayEquals(cold, warm, type + " m=" + m + ": first call and after warm-up differ");
                }
            }
        }
    }
}
