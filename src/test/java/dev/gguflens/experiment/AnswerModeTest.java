package dev.gguflens.experiment;

import dev.gguflens.gguf.GgufFile;
import dev.gguflens.lens.HeadLookup;
import dev.gguflens.lens.LensHead;
import dev.gguflens.lens.LensKind;
import dev.gguflens.lens.ReferenceLens;
import dev.gguflens.llama.Capture;
import dev.gguflens.llama.CaptureRequest;
import dev.gguflens.llama.ContextParams;
import dev.gguflens.llama.LlamaContext;
import dev.gguflens.llama.LlamaModel;
import dev.gguflens.llama.ModelParams;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static dev.gguflens.testmodels.Fixtures.requireNative;
import static dev.gguflens.testmodels.Fixtures.stories260K;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code --answer-mode sequence} against an independent computation: the prompt and the answer's tokens captured
 * again through the binding, the double-precision {@link ReferenceLens} at each teacher-forced position, the
 * log-probabilities of the answer's tokens summed; and the first-token view unchanged by the appended tokens.
 */
class AnswerModeTest {
    static final String PROMPT = "Question: What is the capital of Germany? Answer:";

    @BeforeAll
    static void setUp() {
        requireNative();
    }

    @Test
    void sequenceModeSumsTheTeacherForcedLensLogProbabilities() {
        Path model = stories260K();
        for (LensKind kind : LensKind.values()) {
            ProbeSettings first = new ProbeSettings(kind, 5, false, 0, 2, 256, List.of());
            ProbeReport firstReport, seqReport;
            int[] answer;
            try (ModelSession session = ModelSession.open(model, first, null)) {
                firstReport = Probe.report(session, new PromptSpec(PROMPT, "Berlin"), List.of(), false);
                int[] prompt = session.tokenizePrompt(PROMPT);
                answer = session.answerTokens(PROMPT, prompt, "Berlin");
            }
            try (ModelSession session = ModelSession.open(model, first.withAnswerMode(AnswerMode.SEQUENCE), null)) {
                seqReport = Probe.report(session, new PromptSpec(PROMPT, "Berlin"), List.of(), false);
            }
            assertEquals(4, answer.length, "' B' 'er' 'l' 'in'");
            assertEquals(List.of(" B", "er", "l", "in"), seqReport.answers().getFirst().tokens().stream()
                    .map(ProbeReport.TokenInfo::text).toList());
            int[] prompt = firstReport.tokens().stream().mapToInt(ProbeReport.TokenInfo::id).toArray();
            int[] forced = Arrays.copyOf(prompt, prompt.length + answer.length - 1);
            System.arraycopy(answer, 0, forced, prompt.length, answer.length - 1);
            try (GgufFile file = GgufFile.open(model);
                 LlamaModel m = LlamaModel.load(model, ModelParams.defaults());
                 LlamaContext ctx = LlamaContext.create(m, new ContextParams(256, 256, 2));
                 Capture capture = ctx.capture(forced, new CaptureRequest(true, false, false, List.of()))) {
                ReferenceLens lens = new ReferenceLens(HeadLookup.fromGguf(file));
                for (int layer = 0; layer < capture.layers(); layer++) {
                    double expected = 0;
                    for (int j = 0; j < answer.length; j++) {
                        double[] z = lens.logits(kind, capture.layerStateArray(layer, prompt.length - 1 + j));
                        expected += ReferenceLens.logSoftmax(z)[answer[j]];
                    }
                    ProbeReport.Expected seq = seqReport.layers().get(layer).expected().getFirst();
                    ProbeReport.Expected one = firstReport.layers().get(layer).expected().getFirst();
                    String where = kind + " layer " + layer;
                    assertEquals(expected, seq.answerLogProb(), 1e-4 * Math.max(1, Math.abs(expected)), where);
                    assertEquals(one.p(), seq.p(), 1e-6, where + ": the first-token view does not change");
                    assertEquals(one.rank(), seq.rank(), where);
                    assertTrue(seq.answerWorstRank() >= seq.rank(), where);
                }
            }
        }
    }
}
