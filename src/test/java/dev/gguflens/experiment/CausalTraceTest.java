package dev.gguflens.experiment;

import dev.gguflens.lens.LensKind;
import dev.gguflens.llama.Capture;
import dev.gguflens.llama.CaptureRequest;
import dev.gguflens.llama.ContextParams;
import dev.gguflens.llama.Intervention;
import dev.gguflens.llama.LlamaContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;

import static dev.gguflens.testmodels.Fixtures.requireNative;
import static dev.gguflens.testmodels.Fixtures.stories260K;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The batched, prefix-sharing causal trace against independent references: layer 0 at position p is llama.cpp
 * run on the corrupted prompt with token p taken from the clean prompt (no intervention at all), and other cells
 * are single unbatched runs from an empty cache with one intervention.
 */
class CausalTraceTest {
    private static final String CLEAN = "Once upon a time, there was a little girl named";
    private static final String CORRUPT = "Once upon a time, there was a little boy named";
    /** Batched runs see other cells and a different cache layout, so float sums differ in the last bits. */
    private static final double P_TOLERANCE = 2e-5;
    private static ModelSession session;

    @BeforeAll
    static void open() {
        requireNative();
        session = ModelSession.open(stories260K(), new ProbeSettings(LensKind.NORM, 1, false, 0, 2, 256, List.of()), null);
    }

    @AfterAll
    static void close() {
        if (session != null) session.close();
    }

    private static CausalTrace.Settings settings(CausalTrace.Site site, int batch) {
        return new CausalTrace.Settings(site, 2, batch, false);
    }

    private static double pAnswer(LlamaContext ctx, int[] tokens, int answer, List<Intervention> interventions) {
        try (Capture c = ctx.capture(tokens, new CaptureRequest(false, false, true, List.of()), interventions)) {
            return CausalTrace.probability(c.logits(tokens.length - 1), answer);
        }
    }

    @Test
    void residualTraceMatchesEditedPromptsAndSingleRuns() {
        TraceReport r = CausalTrace.run(session, CLEAN, CORRUPT, "Lily", settings(CausalTrace.Site.RESID, 64));
        int[] clean = session.tokenizePrompt(CLEAN);
        int[] corrupt = session.tokenizePrompt(CORRUPT);
        int n = clean.length;
        int blocks = session.model().layerCount();
        assertEquals(14, n);
        assertEquals(blocks + 1, r.rows().size());
        assertEquals("▁Lily", session.model().tokenText(r.answerId()));
        try (LlamaContext ctx = LlamaContext.create(session.model(), new ContextParams(64, 64, 2))) {
            assertEquals(pAnswer(ctx, clean, r.answerId(), List.of()), r.pClean(), 0.0);
            assertEquals(pAnswer(ctx, corrupt, r.answerId(), List.of()), r.pCorrupt(), 0.0);
            assertTrue(r.pClean() > 0.5 && r.pCorrupt() < 0.05, r.pClean() + " " + r.pCorrupt());
            // Layer 0: swapping one embedding row is running the edited prompt.
            double[] layer0 = r.rows().getFirst().p();
            for (int pos = 0; pos < n; pos++) {
                int[] edited = corrupt.clone();
                edited[pos] = clean[pos];
                assertEquals(pAnswer(ctx, edited, r.answerId(), List.of()), layer0[pos], P_TOLERANCE, "layer 0, position " + pos);
            }
            // Every other cell against one unbatched run with a single intervention.
            try (Capture cleanRun = ctx.capture(clean, new CaptureRequest(true, false, false, List.of()))) {
                for (int layer = 1; layer <= blocks; layer++) {
                    double[] row = r.rows().get(layer).p();
                    for (int pos = 0; pos < n; pos++) {
                        var patch = Intervention.replaceRows(Intervention.residualTensor(layer), new int[] {pos},
                                cleanRun.layerStates(layer).asSlice((long) pos * 64 * Float.BYTES, 64L * Float.BYTES), 64);
                        assertEquals(pAnswer(ctx, corrupt, r.answerId(), List.of(patch)), row[pos], P_TOLERANCE,
                                "layer " + layer + ", position " + pos);
                    }
                }
            }
        }
        // The last block's output reaches the prediction only at the last position, where it is the clean run.
        double[] last = r.rows().getLast().p();
        for (int pos = 0; pos < n - 1; pos++) assertEquals(r.pCorrupt(), last[pos], 0.0);
        assertEquals(r.pClean(), last[n - 1], P_TOLERANCE);
        assertEquals(1.0, r.restoration(last[n - 1]), 1e-4);
    }

    /**
     * Up to 64 tokens per batch the cells equal single runs (above); in larger batches llama.cpp's CPU kernels take
     * another path and round differently: the corrupted prompt's answer logit is 14.06322 in batches of up to 64
     * tokens and 14.06644-14.06646 beyond (measured with 1 to 18 copies of the prompt as parallel sequences), a
     * relative change of 2e-4, so p moves by about 3e-3 of itself.
     */
    @Test
    void batchingChangesTheResultOnlyByKernelRounding() {
        TraceReport wide = CausalTrace.run(session, CLEAN, CORRUPT, "Lily", settings(CausalTrace.Site.RESID, 512));
        TraceReport narrow = CausalTrace.run(session, CLEAN, CORRUPT, "Lily", settings(CausalTrace.Site.RESID, 14));
        for (int layer = 0; layer < wide.rows().size(); layer++) {
            double[] w = wide.rows().get(layer).p(), n = narrow.rows().get(layer).p();
            for (int pos = 0; pos < w.length; pos++) {
                assertEquals(n[pos], w[pos], 1e-2 * n[pos], "layer " + layer + ", position " + pos);
            }
        }
    }

    @Test
    void attentionMlpAndHeadSitesMatchSingleRuns() {
        int[] clean = session.tokenizePrompt(CLEAN);
        int[] corrupt = session.tokenizePrompt(CORRUPT);
        int n = clean.length;
        int blocks = session.model().layerCount();
        List<String> extras = new java.util.ArrayList<>();
        for (int i = 0; i < blocks; i++) extras.addAll(List.of("kqv_out-" + i, "ffn_out-" + i));
        try (LlamaContext ctx = LlamaContext.create(session.model(), new ContextParams(64, 64, 2));
             Capture cleanRun = ctx.capture(clean, new CaptureRequest(false, false, false, extras))) {
            for (CausalTrace.Site site : List.of(CausalTrace.Site.ATTN, CausalTrace.Site.MLP)) {
                TraceReport r = CausalTrace.run(session, CLEAN, CORRUPT, "Lily", settings(site, 64));
                assertEquals(blocks, r.rows().size(), site + " rows are blocks");
                String base = site == CausalTrace.Site.ATTN ? "kqv_out-" : "ffn_out-";
                for (int[] cell : new int[][] {{0, 11}, {1, 12}, {2, 13}, {3, 12}, {4, 13}}) {
                    String name = base + cell[0];
                    int width = cleanRun.extraWidth(name);
                    var patch = Intervention.replaceRows(name, new int[] {cell[1]}, cleanRun.extra(name).orElseThrow()
                            .asSlice((long) cell[1] * width * Float.BYTES, (long) width * Float.BYTES), width);
                    assertEquals(pAnswer(ctx, corrupt, r.answerId(), List.of(patch)), r.rows().get(cell[0]).p()[cell[1]],
                            P_TOLERANCE, site + " block " + cell[0] + ", position " + cell[1]);
                }
                assertEquals(r.pCorrupt(), r.rows().get(blocks - 1).p()[5], 0.0, "last block, not the last position");
            }
            TraceReport heads = CausalTrace.run(session, CLEAN, CORRUPT, "Lily", settings(CausalTrace.Site.HEADS, 64));
            assertEquals(List.of("h0", "h1", "h2", "h3", "h4", "h5", "h6", "h7"), heads.columnLabels());
            int headDim = 8;
            for (int[] cell : new int[][] {{0, 0}, {2, 3}, {4, 7}}) {
                String name = "kqv_out-" + cell[0];
                var values = java.lang.foreign.Arena.ofAuto().allocate(java.lang.foreign.ValueLayout.JAVA_FLOAT, (long) n * headDim);
                for (int pos = 0; pos < n; pos++) {
                    java.lang.foreign.MemorySegment.copy(cleanRun.extra(name, pos).orElseThrow(), (long) cell[1] * headDim * Float.BYTES,
                            values, (long) pos * headDim * Float.BYTES, (long) headDim * Float.BYTES);
                }
                int[] columns = java.util.stream.IntStream.range(cell[1] * headDim, (cell[1] + 1) * headDim).toArray();
                var patch = new Intervention(name, false, java.util.stream.IntStream.range(0, n).toArray(), columns, values, headDim, false);
                assertEquals(pAnswer(ctx, corrupt, heads.answerId(), List.of(patch)), heads.rows().get(cell[0]).p()[cell[1]],
                        P_TOLERANCE, "head " + cell[0] + "." + cell[1]);
            }
        }
    }

    @Test
    void tracingAPromptAgainstItselfRestoresEverything() {
        TraceReport r = CausalTrace.run(session, CORRUPT, CORRUPT, "Lily", settings(CausalTrace.Site.RESID, 128));
        assertEquals(r.pClean(), r.pCorrupt(), 0.0);
        for (TraceReport.Row row : r.rows()) {
            for (double p : row.p()) assertEquals(r.pClean(), p, P_TOLERANCE, "layer " + row.layer());
        }
        assertTrue(Double.isNaN(r.restoration(r.pClean())), "restoration is undefined when clean = corrupt");
    }

    @Test
    void promptsOfDifferentLengthsAreRefusedNamingWhereTheyDiffer() {
        var e = assertThrows(InvalidInputException.class, () -> CausalTrace.run(session, CLEAN,
                "Once upon a time, there was a little dragon named", "Lily", settings(CausalTrace.Site.RESID, 64)));
        assertTrue(e.getMessage().contains("first differ at token 10"), e.getMessage());
    }
}
