package dev.gguflens.experiment;

import dev.gguflens.gguf.GgufFile;
import dev.gguflens.lens.HeadConsistency;
import dev.gguflens.lens.HeadLookup;
import dev.gguflens.lens.LayerStates;
import dev.gguflens.lens.LensHead;
import dev.gguflens.lens.LensKind;
import dev.gguflens.lens.LensRequest;
import dev.gguflens.lens.LogitLens;
import dev.gguflens.llama.Capture;
import dev.gguflens.llama.CaptureRequest;
import dev.gguflens.llama.ContextParams;
import dev.gguflens.llama.LlamaContext;
import dev.gguflens.llama.LlamaModel;
import dev.gguflens.llama.LlamaQuantizer;
import dev.gguflens.llama.ModelParams;
import dev.gguflens.testmodels.RandomModels;
import dev.gguflens.testmodels.RandomModels.Arch;
import dev.gguflens.testmodels.RandomModels.Spec;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.OptionalDouble;

import static dev.gguflens.testmodels.Fixtures.llamaCppDir;
import static dev.gguflens.testmodels.Fixtures.requireNative;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The consistency check's split: honest quantised heads (random qwen3 and gemma2, two seeds, F32 / Q8_0 /
 * Q4_K_M) leave a gap that llama.cpp's activation rounding explains and do not warn; heads broken on purpose
 * (norm weight replaced by ones, epsilon 1.0 instead of 1e-6, Gemma-2's softcap dropped) warn. The check folded
 * into the lens's pass (the probe's form: one more product vector) gives exactly the standalone check's result,
 * honest or broken, whether the checked row is a lens row (NORM) or an extra final row (RAW).
 */
class HeadConsistencyTest {
    static final String PROMPT = "The capital of France is";
    /** A correct head on CPU leaves only float summation order (measured <= 2e-14 bits on these models). */
    static final double HONEST_UNEXPLAINED_BITS = 1e-10;

    @TempDir static Path dir;

    @BeforeAll
    static void setUp() {
        requireNative();
    }

    record Case(Arch arch, long seed, String type) {}

    @Test
    void honestHeadsAreExplainedAndBrokenHeadsWarn() {
        List<Case> cases = List.of(new Case(Arch.QWEN3, 11, "F32"), new Case(Arch.QWEN3, 11, "Q8_0"),
                new Case(Arch.QWEN3, 11, "Q4_K_M"), new Case(Arch.QWEN3, 5, "Q8_0"), new Case(Arch.QWEN3, 5, "Q4_K_M"),
                new Case(Arch.GEMMA2, 11, "F32"), new Case(Arch.GEMMA2, 11, "Q8_0"), new Case(Arch.GEMMA2, 11, "Q4_K_M"));
        System.out.printf(Locale.ROOT, "%-8s %4s %-7s %-5s %12s %12s %14s %14s%n", "arch", "seed", "type", "act",
                "KL expected", "max|dz| exp", "KL unexplained", "max|dz| unexpl");
        for (Case c : cases) {
            Path model = model(c);
            try (GgufFile file = GgufFile.open(model);
                 LlamaModel m = LlamaModel.load(model, ModelParams.defaults());
                 LlamaContext ctx = LlamaContext.create(m, new ContextParams(128, 128, 2))) {
                int[] tokens = m.tokenize(PROMPT, true, false);
                float[] state, logits;
                float[][][] states;
                float[][] allLogits;
                try (Capture capture = ctx.capture(tokens, new CaptureRequest(true, false, true, List.of()))) {
                    state = capture.layerStateArray(capture.layers() - 1, tokens.length - 1);
                    logits = capture.logitsArray(tokens.length - 1);
                    states = new float[capture.layers()][tokens.length][];
                    for (int layer = 0; layer < capture.layers(); layer++) {
                        for (int p = 0; p < tokens.length; p++) states[layer][p] = capture.layerStateArray(layer, p);
                    }
                    allLogits = new float[tokens.length][];
                    for (int p = 0; p < tokens.length; p++) allLogits[p] = capture.logitsArray(p);
                }
                LensHead head = HeadLookup.fromGguf(file);
                HeadConsistency honest = HeadConsistency.of(head, state, logits, 2);
                assertEquals(honest, folded(head, states, allLogits, LensKind.RAW), c + ": folded into the lens");
                System.out.printf(Locale.ROOT, "%-8s %4d %-7s %-5s %12.3g %12.3g %14.3g %14.3g%n", c.arch().name, c.seed(),
                        c.type(), honest.activationType(), honest.expectedKlBits(), honest.expectedMaxAbsLogitDiff(),
                        honest.unexplainedKlBits(), honest.unexplainedMaxAbsLogitDiff());
                assertFalse(honest.warning(), c + ": " + honest);
                assertTrue(honest.unexplainedKlBits() < HONEST_UNEXPLAINED_BITS, c + ": " + honest);
                if (c.type().equals("F32")) assertEquals(0.0, honest.expectedKlBits(), c + ": F32 activations are not rounded");
                else assertTrue(honest.expectedKlBits() > honest.unexplainedKlBits(), c + ": rounding explains the gap: " + honest);

                float[] ones = new float[head.embeddingLength()];
                Arrays.fill(ones, 1f);
                assertBroken(c, "norm weight ones", new LensHead(head.architecture(), head.norm(), ones, head.normBias(),
                        head.epsilon(), head.output(), head.outputBias(), head.logitScale(), head.softcap()), states, allLogits);
                assertBroken(c, "epsilon 1.0", new LensHead(head.architecture(), head.norm(), head.normWeight(), head.normBias(),
                        1f, head.output(), head.outputBias(), head.logitScale(), head.softcap()), states, allLogits);
                if (c.arch() == Arch.GEMMA2) {
                    assertTrue(head.softcap().isPresent());
                    assertBroken(c, "no softcap", new LensHead(head.architecture(), head.norm(), head.normWeight(), head.normBias(),
                            head.epsilon(), head.output(), head.outputBias(), head.logitScale(), OptionalDouble.empty()), states, allLogits);
                }
            }
        }
    }

    static void assertBroken(Case c, String what, LensHead broken, float[][][] states, float[][] logits) {
        float[][] last = states[states.length - 1];
        HeadConsistency check = HeadConsistency.of(broken, last[last.length - 1], logits[logits.length - 1], 2);
        System.out.printf(Locale.ROOT, "  broken (%s): unexplained KL %.3g bits%n", what, check.unexplainedKlBits());
        assertTrue(check.warning(), c + " with " + what + " must warn: " + check);
        HeadConsistency folded = folded(broken, states, logits, LensKind.NORM);
        assertTrue(folded.warning(), c + " with " + what + " must warn in the lens's pass: " + folded);
        assertEquals(check, folded, c + " with " + what + ": folded into the lens");
    }

    /** The check as the probe makes it: in the lens's pass over every layer and position, at the last position. */
    static HeadConsistency folded(LensHead head, float[][][] states, float[][] logits, LensKind kind) {
        int[] positions = java.util.stream.IntStream.range(0, logits.length).toArray();
        LensRequest request = new LensRequest(kind, 5, positions, List.of(), logits, null, null).checkingHead();
        HeadConsistency check = LogitLens.run(head, LayerStates.of(states), request, 2).headCheck();
        assertTrue(LogitLens.run(head, LayerStates.of(states), new LensRequest(kind, 5, positions, List.of(), logits, null, null),
                2).headCheck() == null, "no check unless asked");
        return check;
    }

    static Path model(Case c) {
        Path f32 = dir.resolve(c.arch().name + "-256-" + c.seed() + ".gguf");
        if (!f32.toFile().exists()) RandomModels.write(Spec.kQuantable(c.arch(), c.seed()), llamaCppDir(), dir);
        if (c.type().equals("F32")) return f32;
        Path out = dir.resolve(c.arch().name + "-" + c.seed() + "-" + c.type() + ".gguf");
        if (!out.toFile().exists()) LlamaQuantizer.quantize(f32, out, c.type(), 2);
        return out;
    }
}
