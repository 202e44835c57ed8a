package dev.gguflens.experiment;

import dev.gguflens.lens.LensKind;
import dev.gguflens.llama.Capture;
import dev.gguflens.llama.CaptureRequest;
import dev.gguflens.llama.ContextParams;
import dev.gguflens.llama.LlamaContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static dev.gguflens.testmodels.Fixtures.requireNative;
import static dev.gguflens.testmodels.Fixtures.stories260K;
import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code trace --answer-mode sequence}: p is the product over the teacher-forced answer tokens. Checked against
 * plain llama.cpp runs from an empty cache of the clean, corrupted and edited prompts each followed by the answer's
 * tokens (layer 0 at position p = the corrupted prompt with token p taken from the clean one), with no intervention.
 * (How the renderings show such a trace is report's TraceSequenceRenderingTest.)
 */
class CausalTraceSequenceTest {
    private static final String CLEAN = "Once upon a time, there was a little girl named";
    private static final String CORRUPT = "Once upon a time, there was a little boy named";
    /** Three tokens after the clean prompt: ' Lily', '.', ' She'. */
    private static final String ANSWER = "Lily. She";
    /** Batched runs see other cells and a different cache layout, so float sums differ in the last bits. */
    private static final double P_TOLERANCE = 2e-5;
    private static ModelSession session;

    @BeforeAll
    static void open() {
        requireNative();
        session = ModelSession.open(stories260K(), new ProbeSettings(LensKind.NORM, 1, false, 0, 2, 256, List.of(), null, null,
                AnswerMode.SEQUENCE), null);
    }

    @AfterAll
    static void close() {
        if (session != null) session.close();
    }

    /** The product over answer token j of its probability at position prompt.length - 1 + j, from one plain run. */
    private static double pWhole(LlamaContext ctx, int[] prompt, int[] answer) {
        int[] tokens = Arrays.copyOf(prompt, prompt.length + answer.length - 1);
        System.arraycopy(answer, 0, tokens, prompt.length, answer.length - 1);
        try (Capture c = ctx.capture(tokens, new CaptureRequest(false, false, true, List.of()))) {
            double p = 1;
            for (int j = 0; j < answer.length; j++) p *= CausalTrace.probability(c.logits(prompt.length - 1 + j), answer[j]);
            return p;
        }
    }

    @Test
    void wholeAnswerProbabilityIsTheProductOverTeacherForcedTokens() {
        TraceReport r = CausalTrace.run(session, CLEAN, CORRUPT, ANSWER, new CausalTrace.Settings(CausalTrace.Site.RESID, 2, 64, false));
        int[] clean = session.tokenizePrompt(CLEAN);
        int[] corrupt = session.tokenizePrompt(CORRUPT);
        int[] answer = r.answerTokens().stream().mapToInt(ProbeReport.TokenInfo::id).toArray();
        assertEquals(List.of(" Lily", ".", " She"), r.answerTokens().stream().map(ProbeReport.TokenInfo::text).toList());
        assertTrue(r.wholeAnswer() && r.multiToken());
        assertEquals("sequence", r.answerMode());
        assertNotNull(r.kvCache());
        assertTrue(r.kvCache().exact(), r.kvCache().toString());
        assertEquals("f32", r.kvCache().type(), "the trace's own context keeps an f32 cache");
        int n = clean.length;
        try (LlamaContext ctx = LlamaContext.create(session.model(), new ContextParams(64, 64, 2))) {
            double pClean = pWhole(ctx, clean, answer), pCorrupt = pWhole(ctx, corrupt, answer);
            assertEquals(pClean, r.pClean(), P_TOLERANCE * pClean);
            assertEquals(pCorrupt, r.pCorrupt(), P_TOLERANCE * Math.max(pCorrupt, 1e-6));
            // the whole answer is less likely than its first token alone
            double pFirst;
            try (Capture c = ctx.capture(clean, new CaptureRequest(false, false, true, List.of()))) {
                pFirst = CausalTrace.probability(c.logits(n - 1), answer[0]);
            }
            assertTrue(r.pClean() < pFirst, r.pClean() + " vs first token " + pFirst);
            double[] layer0 = r.rows().getFirst().p();
            for (int pos = 0; pos < n; pos++) {
                int[] edited = corrupt.clone();
                edited[pos] = clean[pos];
                assertEquals(pWhole(ctx, edited, answer), layer0[pos], P_TOLERANCE, "layer 0, position " + pos);
            }
            // The last block's output reaches the answer only from the last prompt position on.
            double[] last = r.rows().getLast().p();
            for (int pos = 0; pos < n - 1; pos++) assertEquals(r.pCorrupt(), last[pos], 0.0);
        }
    }
}
