package dev.gguflens.experiment;

import dev.gguflens.lens.LensKind;
import dev.gguflens.llama.Capture;
import dev.gguflens.llama.CaptureRequest;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;

import static dev.gguflens.testmodels.Fixtures.requireNative;
import static dev.gguflens.testmodels.Fixtures.stories260K;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Without {@code -c} the session's context follows the runs: none at open, 256 tokens for a short prompt, 512
 * after a 300-token one (the limit is stories260K's trained 2048), and the same logits as a context of the full
 * size made at open ({@code -c 2048}), which stays 2048 whatever the prompt.
 */
class ContextSizingTest {
    static final String SHORT = "Question: What is the capital of Germany? Answer:";
    static final CaptureRequest LOGITS = new CaptureRequest(false, false, true, List.of());

    @BeforeAll
    static void setUp() {
        requireNative();
    }

    private static ProbeSettings settings(int contextSize) {
        return new ProbeSettings(LensKind.NORM, 5, false, 0, 2, contextSize, List.of());
    }

    private static String longPrompt(ModelSession session) {
        StringBuilder sb = new StringBuilder();
        while (session.tokenizePrompt(sb.length() == 0 ? "a" : sb.toString()).length < 300) sb.append("Once upon a time ");
        return sb.toString();
    }

    @Test
    void theDefaultContextFollowsThePromptsAndGivesTheSameLogits() {
        try (ModelSession sized = ModelSession.open(stories260K(), settings(0), null);
             ModelSession full = ModelSession.open(stories260K(), settings(2048), null)) {
            assertEquals(0, sized.contextSize(), "no context before the first capture");
            assertEquals(2048, sized.contextLimit());
            assertEquals(2048, full.contextSize(), "-c makes the context at open");
            String longer = longPrompt(sized);
            for (String prompt : List.of(SHORT, longer, SHORT)) {
                int[] tokens = sized.tokenizePrompt(prompt);
                try (Capture a = sized.capture(tokens, LOGITS); Capture b = full.capture(tokens, LOGITS)) {
                    for (int pos = 0; pos < tokens.length; pos++) {
                        assertArrayEquals(b.logitsArray(pos), a.logitsArray(pos), prompt.length() + " chars, position " + pos);
                    }
                }
                int expected = prompt.equals(SHORT) && sized.contextSize() < 512 ? 256 : 512;
                assertEquals(expected, sized.contextSize(), tokens.length + " tokens");
                assertEquals(2048, full.contextSize());
            }
            assertEquals(512, sized.contextSize(), "the context does not shrink again");
            ProbeReport.KvCache kv = sized.kvCache();
            assertEquals(full.kvCache().type(), kv.type(), "the type is decided on the maximum context");
            assertTrue(kv.reason().contains("for 2048 tokens") && kv.reason().contains("allocated for 512 tokens"), kv.reason());
            assertEquals(full.kvCache().reason(), kv.reason().substring(0, kv.reason().indexOf(';')));
            String tooLong = longer.repeat(8);
            assertThrows(InvalidInputException.class, () -> sized.tokenizePrompt(tooLong));
        }
    }

    @Test
    void aProbeAllocatesTheSmallestStepAndALongerPromptSetGrowsIt() {
        try (ModelSession session = ModelSession.open(stories260K(), settings(0), null)) {
            ProbeReport first = Probe.report(session, new PromptSpec(SHORT, "Berlin"), List.of(), false);
            assertEquals(256, session.contextSize());
            assertTrue(first.kvCache().reason().contains("allocated for 256 tokens"), first.kvCache().reason());
            String longer = longPrompt(session);
            ProbeReport second = Probe.report(session, new PromptSpec(longer, "Berlin"), List.of(), false);
            assertEquals(512, session.contextSize());
            assertEquals(first.layers().size(), second.layers().size());
        }
    }
}
