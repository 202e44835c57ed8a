package dev.gguflens.experiment;

import dev.gguflens.lens.LensKind;
import dev.gguflens.llama.Capture;
import dev.gguflens.llama.CaptureRequest;
import dev.gguflens.llama.Intervention;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.stream.IntStream;

import static dev.gguflens.testmodels.Fixtures.requireNative;
import static dev.gguflens.testmodels.Fixtures.stories260K;
import static org.junit.jupiter.api.Assertions.*;

/** Head and neuron ablation on the real tiny model (llama: no attention bias, 8 heads of 8, SwiGLU MLP of 172). */
class AblationTest {
    private static final String PROMPT = "Once upon a time, there was a little girl named";
    private static ModelSession session;

    @BeforeAll
    static void open() {
        requireNative();
        session = ModelSession.open(stories260K(), new ProbeSettings(LensKind.NORM, 5, false, 0, 2, 256, List.of()), null);
    }

    @AfterAll
    static void close() {
        if (session != null) session.close();
    }

    @Test
    void ablatingEveryHeadOfABlockRemovesItsAttentionExactly() {
        List<Ablation.Target> all = IntStream.range(0, 8).mapToObj(h -> new Ablation.Target(2, h)).toList();
        AblationReport r = Ablation.run(session, PROMPT, "Lily", Ablation.Kind.HEADS, all, List.of(), 5);
        assertEquals(List.of("kqv_out-2"), r.tensors());
        assertEquals("zero", r.mode());
        assertEquals(1, r.before().rank());
        assertNotEquals(r.before().p(), r.after().p(), "block 2's attention matters");
        int[] tokens = session.tokenizePrompt(PROMPT);
        int[] rows = IntStream.range(0, tokens.length).toArray();
        var zero = Intervention.setColumns("kqv_out-2", rows, IntStream.range(0, 64).toArray(), new float[64]);
        try (Capture c = session.capture(tokens, new CaptureRequest(true, false, true, List.of("ffn_inp-2")), List.of(zero))) {
            for (int pos = 0; pos < tokens.length; pos++) {
                // W_o . 0 = 0 and x + 0 = x: the residual after the attention is the block's input, bit for bit.
                assertArrayEquals(c.layerStateArray(2, pos), c.extra("ffn_inp-2", pos).orElseThrow()
                        .toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT), "position " + pos);
            }
            assertEquals(dev.gguflens.lens.LogitDistribution.of(c.logitsArray(tokens.length - 1)).probability(r.answerId()),
                    r.after().p(), 0.0);
        }
    }

    @Test
    void neuronsResolveTheActivationTensorAndMeanAblationOfTheSamePromptIsSmall() {
        AblationReport zero = Ablation.run(session, PROMPT, "Lily", Ablation.Kind.NEURONS,
                List.of(new Ablation.Target(4, 100), new Ablation.Target(4, 3)), List.of(), 5);
        assertEquals(List.of("ffn_swiglu-4"), zero.tensors());
        assertEquals(5, zero.after().top().size());
        AblationReport mean = Ablation.run(session, PROMPT, "Lily", Ablation.Kind.NEURONS,
                List.of(new Ablation.Target(4, 100)), List.of(PROMPT, "The cat sat on the mat."), 5);
        assertEquals("mean", mean.mode());
        assertEquals(2, mean.meanPrompts());
    }

    @Test
    void badTargetsNameTheField() {
        var e = assertThrows(InvalidInputException.class, () -> Ablation.Target.parse(Ablation.Kind.HEADS, "3:1"));
        assertEquals("heads", e.field());
        e = assertThrows(InvalidInputException.class, () -> Ablation.run(session, PROMPT, "Lily", Ablation.Kind.HEADS,
                List.of(new Ablation.Target(9, 0)), List.of(), 5));
        assertTrue(e.getMessage().contains("the model has 5"), e.getMessage());
        e = assertThrows(InvalidInputException.class, () -> Ablation.run(session, PROMPT, "Lily", Ablation.Kind.NEURONS,
                List.of(new Ablation.Target(1, 100000)), List.of(), 5));
        assertTrue(e.getMessage().contains("ffn_swiglu-1 has"), e.getMessage());
    }
}
