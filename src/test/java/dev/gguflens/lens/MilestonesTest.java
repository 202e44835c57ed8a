package dev.gguflens.lens;

import dev.gguflens.lens.LensResult.CopyCollapse;
import dev.gguflens.lens.LensResult.LayerRecord;
import dev.gguflens.lens.LensResult.Milestone;
import dev.gguflens.lens.LensResult.Milestones;
import dev.gguflens.lens.LensResult.TokenProbability;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Milestones and copy collapse on inputs with known answers. */
class MilestonesTest {
    private static final int SIZE = 8;

    /**
     * Identity output weight, NORM lens with gamma 1 and eps 0: the logits are the state divided by its RMS,
     * so ranks are those of the state's coordinates. Token 3 climbs: coordinate 3 is 0, 1, 2, 5, 6, 8 while
     * the others stay at 4, 3.5, 3, _, 2.5, 2, 1, 0.
     */
    @Test
    void trackedTokenBecomesTopAtLayer3() {
        LensHead head = TestHeads.identityHead(SIZE, OptionalDouble.empty(), OptionalDouble.empty());
        float[] climb = {0, 1, 2, 5, 6, 8};
        float[][][] states = new float[climb.length][2][];
        for (int layer = 0; layer < climb.length; layer++) {
            states[layer][0] = new float[]{1, 0, 0, 0, 0, 0, 0, 0};     // an earlier position, ignored by milestones
            states[layer][1] = new float[]{4, 3.5f, 3, climb[layer], 2.5f, 2, 1, 0};
        }
        LensRequest request = new LensRequest(LensKind.NORM, 3, new int[]{0, 1},
                List.of(new TrackedToken("three", 3), new TrackedToken("zero", 0)));
        LensResult result = LogitLens.run(head, LayerStates.of(states), request, 1);
        int[] expectedRanks = {7, 6, 5, 1, 1, 1};
        for (int layer = 0; layer < climb.length; layer++) {
            assertEquals(expectedRanks[layer], result.record(layer, 1).tracked().getFirst().rank(), "layer " + layer);
        }
        Milestones m = result.milestones();
        assertEquals(Optional.of(new Milestone(3, 0.6)), m.firstRank1());
        assertEquals(Optional.of(new Milestone(2, 0.4)), m.firstRankAtMost5());
        assertEquals(Optional.of(new Milestone(0, 0.0)), m.firstRankAtMost10());
        assertEquals(0.0, result.record(climb.length - 1, 1).klToFinalBits());
        assertEquals(0.0, result.record(climb.length - 1, 0).klToFinalBits());
        assertEquals(1.0, result.record(climb.length - 1, 1).cosToFinal(), 1e-12);
        assertTrue(m.copyCollapse().isEmpty(), "no prompt tokens given");
    }

    @Test
    void neverReachedMilestonesAreEmpty() {
        // Logit scale 5 makes both layers nearly one-hot: token 0 at layer 0, token 7 at the last layer.
        LensHead head = TestHeads.identityHead(SIZE, OptionalDouble.of(5.0), OptionalDouble.empty());
        float[][][] states = {{{9, 1, 1, 1, 1, 1, 0, 0}}, {{0, 0, 0, 0, 0, 0, 0, 9}}};
        LensRequest request = new LensRequest(LensKind.NORM, 2, new int[]{0}, List.of(new TrackedToken("six", 6)));
        LensResult result = LogitLens.run(head, LayerStates.of(states), request, 1);
        assertEquals(7, result.record(0, 0).tracked().getFirst().rank());
        assertEquals(2, result.record(1, 0).tracked().getFirst().rank());   // ties with 0..5 share rank 2
        Milestones m = result.milestones();
        assertTrue(m.firstRank1().isEmpty());
        assertEquals(Optional.of(new Milestone(1, 1.0)), m.firstRankAtMost5());
        assertEquals(Optional.of(new Milestone(0, 0.0)), m.firstRankAtMost10());
        assertTrue(result.record(0, 0).klToFinalBits() > 10.0, "KL " + result.record(0, 0).klToFinalBits());
        assertEquals(Optional.of(new Milestone(1, 1.0)), m.firstKlBelow1Bit());
        assertEquals(Optional.of(new Milestone(1, 1.0)), m.firstKlBelowHalfBit());
    }

    /** Hand-made records: KL thresholds are strict and the two thresholds can fall on different layers. */
    @Test
    void klThresholdsOnHandMadeRecords() {
        double[] kl = {5, 1.0, 0.9, 0.5, 0.4, 0};
        LensResult result = handMade(kl, new int[kl.length], new double[kl.length]);
        LensRequest request = new LensRequest(LensKind.NORM, 2, new int[]{0}, List.of());
        Milestones m = LogitLens.milestones(result, request, new double[kl.length]);
        assertEquals(Optional.of(new Milestone(2, 0.4)), m.firstKlBelow1Bit());
        assertEquals(Optional.of(new Milestone(4, 0.8)), m.firstKlBelowHalfBit());
        assertTrue(m.firstRank1().isEmpty(), "no tracked token");
    }

    @Test
    void copyCollapseNeedsPromptTokenHighProbabilityMarginAndContent() {
        // Layer:            0     1     2     3      4     5
        int[] top = {7, 2, 5, 2, 2, 9};
        double[] p1 = {0.99, 0.95, 0.99, 0.97, 0.99, 0.99};
        double[] p2 = {0.005, 0.01, 0.005, 0.02, 0.005, 0.001};
        // Token 5 is whitespace-only; token 7 is not in the prompt; layer 1 has p exactly 0.95 (not > 0.95).
        Map<Integer, String> texts = Map.of(2, "\u2581girl", 5, "\u2581\u2581", 7, "Lily", 9, ",");
        LensRequest request = new LensRequest(LensKind.NORM, 2, new int[]{0}, List.of(), null,
                new int[]{9, 2, 5, 4}, LensRequest.contentTokens(texts::get));
        Milestones m = LogitLens.milestones(handMade(new double[6], top, p1), request, p2);
        CopyCollapse copy = m.copyCollapse().orElseThrow();
        assertEquals(3, copy.layer());
        assertEquals(0.6, copy.depthFraction(), 1e-15);
        assertEquals(2, copy.tokenId());
        assertEquals(0.97, copy.probability());
        assertEquals(0.95, copy.margin(), 1e-12);

        // Margin: p1 - p2 must exceed 0.1 (only reachable when top-2 are both large, i.e. not with p1 > 0.95
        // and probabilities summing to 1 - so check the rule with unnormalised hand values).
        double[] closeRunnerUp = {0.9, 0.9, 0.9, 0.9, 0.9, 0.9};
        assertTrue(LogitLens.milestones(handMade(new double[6], top, p1), request, closeRunnerUp).copyCollapse().isEmpty());
    }

    @Test
    void contentTokenPredicate() {
        Map<Integer, String> texts = Map.of(0, "\u2581", 1, "\u0120,", 2, "...", 3, "\u2581Lily", 4, "\u01207", 5, "<0x0A>",
                6, " \"", 7, "é");
        var content = LensRequest.contentTokens(texts::get);
        assertFalse(content.test(0));
        assertFalse(content.test(1));
        assertFalse(content.test(2));
        assertTrue(content.test(3));
        assertTrue(content.test(4));
        assertTrue(content.test(5));     // a byte token spelled with letters counts as content
        assertFalse(content.test(6));
        assertTrue(content.test(7));
        assertFalse(content.test(99));   // unknown id
    }

    /** A one-position result with the given KL, top-1 id and top-1 probability per layer. */
    private static LensResult handMade(double[] kl, int[] top, double[] p1) {
        List<LayerRecord> records = new ArrayList<>();
        for (int layer = 0; layer < kl.length; layer++) {
            records.add(new LayerRecord(layer, 0, List.of(new TokenProbability(top[layer], p1[layer])), 0, 0,
                    List.of(), kl[layer], 1, 1));
        }
        return new LensResult(LensKind.NORM, kl.length, new int[]{0}, records, List.of(), null);
    }
}
