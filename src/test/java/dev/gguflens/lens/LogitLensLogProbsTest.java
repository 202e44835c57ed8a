package dev.gguflens.lens;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.OptionalDouble;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** The lens keeps every layer's full log-probability row at the last position when asked, matching a double-precision lens. */
class LogitLensLogProbsTest {

    @Test
    void keptRowsMatchTheReferenceLensAndAreAbsentUnlessAsked() {
        Random random = new Random(9);
        int vocab = 700, width = 24, layers = 4, positions = 3;
        LensHead head = TestHeads.randomHead(random, NormKind.RMS_NORM, vocab, width, true, OptionalDouble.empty(),
                OptionalDouble.of(20));
        float[][][] states = TestHeads.randomStates(random, layers, positions, width);
        LayerStates input = new LayerStates() {
            public int layers() { return layers; }
            public int positions() { return positions; }
            public int embeddingLength() { return width; }
            public void copyState(int layer, int position, float[] dst, int off) {
                System.arraycopy(states[layer][position], 0, dst, off, width);
            }
        };
        ReferenceLens reference = new ReferenceLens(head);
        for (LensKind kind : LensKind.values()) {
            LensRequest plain = new LensRequest(kind, 5, new int[] {0, 2}, List.of());
            assertNull(LogitLens.run(head, input, plain, 2).lastPositionLogProbs());
            // block size 64: the rows are assembled from many vocabulary blocks
            LensResult result = LogitLens.run(head, input, plain.keepingLastPositionLogProbs(), 2, 64);
            float[][] kept = result.lastPositionLogProbs();
            assertEquals(layers, kept.length);
            for (int layer = 0; layer < layers; layer++) {
                double[] expected = ReferenceLens.logSoftmax(reference.logits(kind, states[layer][2]));
                assertEquals(vocab, kept[layer].length);
                for (int v = 0; v < vocab; v++) {
                    assertEquals(expected[v], kept[layer][v], 1e-4 * (1 + Math.abs(expected[v])), kind + " layer " + layer + " token " + v);
                }
                // the kept row and the streamed statistics describe the same distribution
                LensResult.TokenProbability top = result.record(layer, 1).topK().getFirst();
                assertEquals(top.probability(), Math.exp(kept[layer][top.id()]), 1e-5);
            }
        }
    }
}
