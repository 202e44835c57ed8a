package dev.gguflens.experiment;

import dev.gguflens.lens.HeadConsistency;
import dev.gguflens.lens.LensRequest;
import dev.gguflens.lens.LensWarmup;
import dev.gguflens.lens.LensResult;
import dev.gguflens.lens.LogitDistribution;
import dev.gguflens.lens.LogitLens;
import dev.gguflens.lens.TrackedToken;
import dev.gguflens.llama.Capture;
import dev.gguflens.llama.CaptureRequest;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;

/**
 * The probe on a loaded {@link ModelSession}: the main prompt through llama.cpp and the lens over every layer,
 * the extra prompts through llama.cpp alone, the temperature sweep, each step timed; {@link ProbeReportMapper}
 * turns the results into the {@link ProbeReport}, built once with all its timings.
 */
public final class Probe {
    private Probe() {}

    /**
     * A probe plus what a comparison between models needs at the last prompt position: each layer's lens
     * log-probabilities over the whole vocabulary and each layer's residual state (both float32, one row per
     * layer 0..n_layer); both null unless asked for.
     */
    public record Run(ProbeReport report, float[][] lastLogProbs, float[][] lastResiduals) {}

    /** The report of one probe; with {@code timeBareProduct} its timings include the bare output-weight product. */
    public static ProbeReport report(ModelSession session, PromptSpec main, List<PromptSpec> extras, boolean timeBareProduct) {
        return run(session, main, extras, false, timeBareProduct, false).report();
    }

    /**
     * As {@link #report(ModelSession, PromptSpec, List, boolean)}; with {@code sublayers} every block also gets a
     * row for the residual after its attention (site {@code mid}) between its input and output rows. Milestones
     * and the consistency check stay on the residual layers.
     */
    public static ProbeReport report(ModelSession session, PromptSpec main, List<PromptSpec> extras, boolean timeBareProduct,
                                     boolean sublayers) {
        return run(session, main, extras, false, timeBareProduct, sublayers).report();
    }

    public static Run run(ModelSession session, PromptSpec main, List<PromptSpec> extras, boolean keepLastPosition,
                          boolean timeBareProduct) {
        return run(session, main, extras, keepLastPosition, timeBareProduct, false);
    }

    /**
     * @param keepLastPosition also keep the rows of {@link Run} at the last position
     * @param timeBareProduct  also time the output-weight product alone for the lens's M (layers x positions)
     *                         vectors as the lens runs it, after the lens ({@link ModelSession#bareProductMillis})
     */
    private static Run run(ModelSession session, PromptSpec main, List<PromptSpec> extras, boolean keepLastPosition,
                           boolean timeBareProduct, boolean sublayers) {
        ProbeSettings settings = session.settings();
        ProbeReportMapper mapper = new ProbeReportMapper(session.texts(), settings.topK());
        int[] tokens = session.tokenizePrompt(main.prompt());
        List<int[]> answerTokens = main.expected().stream().map(a -> session.answerTokens(main.prompt(), tokens, a)).toList();
        List<TrackedToken> tracked = IntStream.range(0, answerTokens.size())
                .mapToObj(i -> new TrackedToken(main.expected().get(i), answerTokens.get(i)[0])).toList();
        boolean sequence = settings.answerMode() == AnswerMode.SEQUENCE && !answerTokens.isEmpty();
        int n = tokens.length;
        int[] positions = settings.allPositions() ? IntStream.range(0, n).toArray() : new int[] {n - 1};
        // Sequence mode appends the first answer to the prompt in the same pass; causal attention leaves the
        // prompt's positions as they are without it.
        int[] forward = sequence ? teacherForced(session, tokens, answerTokens.getFirst()) : tokens;

        session.expectLenses(lensShapes(session, positions.length, tracked.size(), keepLastPosition, sublayers,
                sequence ? answerTokens : List.of()));
        long forwardStart = System.nanoTime();
        CaptureRequest what = sublayers ? SublayerSites.request(session.model().layerCount(), false)
                : new CaptureRequest(true, false, true, List.of());
        try (Capture capture = session.capture(forward, what)) {
            double forwardMs = (System.nanoTime() - forwardStart) / 1e6;

            long lensStart = System.nanoTime();
            float[][] reference = Arrays.stream(positions).mapToObj(capture::logitsArray).toArray(float[][]::new);
            LensRequest request = new LensRequest(settings.lens(), settings.topK(), positions, tracked, reference, tokens,
                    LensRequest.contentTokens(session.model()::tokenText));
            if (keepLastPosition) request = request.keepingLastPositionLogProbs();
            float[][] residuals = keepLastPosition ? lastResiduals(capture, n - 1) : null;
            // The head check rides in the lens's own pass over the output weight (one more product vector).
            LensResult result = session.lens(capture, request.checkingHead());
            LensResult mid = sublayers ? LogitLens.run(session.head(), SublayerSites.midStates(capture,
                    session.model().architecture()), request, settings.threads()) : null;
            List<AnswerView> views = new ArrayList<>();
            long extraForwardNanos = 0;
            for (int i = 0; sequence && i < answerTokens.size(); i++) {
                if (i == 0) {
                    views.add(answerView(session, capture, n, main.expected().getFirst(), answerTokens.getFirst()));
                } else {
                    long otherStart = System.nanoTime();
                    try (Capture other = session.capture(teacherForced(session, tokens, answerTokens.get(i)),
                            new CaptureRequest(true, false, false, List.of()))) {
                        extraForwardNanos += System.nanoTime() - otherStart;
                        views.add(answerView(session, other, n, main.expected().get(i), answerTokens.get(i)));
                    }
                }
            }
            HeadConsistency headCheck = result.headCheck();
            double lensMs = (System.nanoTime() - lensStart - extraForwardNanos) / 1e6;
            Double bareProductMs = timeBareProduct ? session.bareProductMillis(result.layers(), request.checkingHead()) : null;

            long reportStart = System.nanoTime();
            float[] finalLogits = reference[reference.length - 1];
            int last = positions.length - 1;
            List<ProbeReport.PositionEntry> positionEntries =
                    settings.allPositions() ? mapper.positionEntries(result, mid, positions, tokens, views) : null;
            long extrasStart = System.nanoTime();
            List<ProbeReport.ExtraPrompt> extraReports = extras.stream().map(e -> extraPrompt(session, mapper, e)).toList();
            long extrasNanos = extras.isEmpty() ? 0 : System.nanoTime() - extrasStart;
            List<ProbeReport.TemperaturePoint> sweep = settings.temperatures().stream()
                    .map(t -> mapper.temperaturePoint(t, LogitDistribution.of(finalLogits, t))).toList();
            ProbeReport.FinalPrediction finalPrediction = mapper.finalPrediction(LogitDistribution.of(finalLogits));
            ProbeReport.ModelInfo modelInfo = ProbeReportMapper.modelInfo(session.file(), session.model());
            List<ProbeReport.TokenInfo> tokenInfos = mapper.tokens(tokens);
            List<ProbeReport.LayerEntry> layers = mapper.layerEntries(result, mid, last, views);
            ProbeReport.Milestones milestones = mapper.milestones(result.milestones());
            if (sequence) milestones = ProbeReportMapper.withAnswerRanks(milestones, views.getFirst().worstRank());
            List<ProbeReport.Answer> answers = IntStream.range(0, answerTokens.size()).mapToObj(i -> new ProbeReport.Answer(
                    main.expected().get(i), mapper.tokens(answerTokens.get(i)), answerTokens.get(i).length > 1,
                    settings.answerMode().optionName())).toList();
            // The extra prompts' forward passes are llama.cpp's time, not the report's.
            double reportMs = (System.nanoTime() - reportStart - extrasNanos) / 1e6;
            double extraForwardMs = (extraForwardNanos + extrasNanos) / 1e6;

            ProbeReport report = new ProbeReport(modelInfo, main.prompt(), tokenInfos,
                    ProbeReportMapper.lensDescription(settings.lens(), session.head()), layers, positionEntries,
                    finalPrediction, ProbeReportMapper.consistency(result.consistency().get(last), headCheck), milestones,
                    extraReports, sweep,
                    new ProbeReport.Timings(session.loadMillis(), forwardMs, extraForwardMs, lensMs, bareProductMs, reportMs,
                            PeakMemory.peakRssBytes()),
                    session.kvCache(), answers);
            return new Run(report, result.lastPositionLogProbs(), residuals);
        }
    }

    /**
     * The lenses this probe makes, in the order it makes them, for the warm-up: the main lens (against llama.cpp's
     * logits, with the head check), the sub-layer lens over the blocks' mid states (the same request, no head
     * check), and each answer's lens in sequence mode (top-1, one position and one tracked token per answer token).
     */
    static List<LensWarmup.Expectation> lensShapes(ModelSession session, int positions, int tracked, boolean keepLastPosition,
                                                   boolean sublayers, List<int[]> sequenceAnswers) {
        ProbeSettings settings = session.settings();
        int blocks = session.model().layerCount();
        List<LensWarmup.Expectation> shapes = new ArrayList<>();
        shapes.add(new LensWarmup.Expectation(settings.lens(), settings.topK(), blocks + 1, positions, tracked, keepLastPosition));
        if (sublayers) {
            shapes.add(new LensWarmup.Expectation(settings.lens(), settings.topK(), blocks, positions, tracked, keepLastPosition,
                    true, false));
        }
        for (int[] answer : sequenceAnswers) {
            shapes.add(new LensWarmup.Expectation(settings.lens(), 1, blocks + 1, answer.length, answer.length, false, false, false));
        }
        return shapes;
    }

    /** Per layer, the lens log-probability of a whole answer (nats) and the worst rank among its tokens. */
    record AnswerView(double[] logProb, int[] worstRank) {}

    /**
     * The whole answer under teacher forcing: answer token j is scored at capture position promptLength - 1 + j,
     * which sees the prompt and the answer's tokens before j.
     */
    private static AnswerView answerView(ModelSession session, Capture capture, int promptLength, String answer,
                                         int[] answerTokens) {
        int k = answerTokens.length;
        int[] positions = IntStream.range(0, k).map(j -> promptLength - 1 + j).toArray();
        List<TrackedToken> tracked = Arrays.stream(answerTokens).mapToObj(id -> new TrackedToken(answer, id)).toList();
        LensResult r = session.lens(capture, new LensRequest(session.settings().lens(), 1, positions, tracked));
        double[] logProb = new double[r.layers()];
        int[] worst = new int[r.layers()];
        for (int layer = 0; layer < r.layers(); layer++) {
            for (int j = 0; j < k; j++) {
                LensResult.TrackedRank t = r.record(layer, j).tracked().get(j);
                logProb[layer] += t.logProbability();
                worst[layer] = Math.max(worst[layer], t.rank());
            }
        }
        return new AnswerView(logProb, worst);
    }

    /**
     * The prompt followed by all but the last answer token: the tokens whose positions (prompt length - 1 + j for
     * answer token j) predict the whole answer. Refuses what the context cannot hold.
     */
    static int[] teacherForced(ModelSession session, int[] prompt, int[] answer) {
        int[] out = Arrays.copyOf(prompt, prompt.length + answer.length - 1);
        System.arraycopy(answer, 0, out, prompt.length, answer.length - 1);
        int limit = session.contextLimit();
        if (out.length > limit) {
            throw new InvalidInputException("context_size", limit, "is too small: the prompt and the answer have "
                    + out.length + " tokens, longer than the context size");
        }
        return out;
    }

    /** The report's model description for a session (what compare lists per variant). */
    public static ProbeReport.ModelInfo modelInfo(ModelSession session) {
        return ProbeReportMapper.modelInfo(session.file(), session.model());
    }

    private static float[][] lastResiduals(Capture capture, int position) {
        float[][] residuals = new float[capture.layers()][capture.embeddingLength()];
        for (int layer = 0; layer < capture.layers(); layer++) {
            MemorySegment row = capture.layerState(layer, position);
            MemorySegment.copy(row, ValueLayout.JAVA_FLOAT, 0, residuals[layer], 0, capture.embeddingLength());
        }
        return residuals;
    }

    /** An extra prompt: llama.cpp's final logits alone, no lens. */
    private static ProbeReport.ExtraPrompt extraPrompt(ModelSession session, ProbeReportMapper mapper, PromptSpec spec) {
        int[] tokens = session.tokenizePrompt(spec.prompt());
        float[] logits;
        try (Capture capture = session.capture(tokens, new CaptureRequest(false, false, true, List.of()))) {
            logits = capture.logitsArray(tokens.length - 1);
        }
        int[] answer = spec.expected().isEmpty() ? null : session.answerTokens(spec.prompt(), tokens, spec.expected().getFirst());
        return mapper.extraPrompt(spec, LogitDistribution.of(logits), answer);
    }
}
