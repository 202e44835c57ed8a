package dev.gguflens.experiment;

import dev.gguflens.lens.LensRequest;
import dev.gguflens.lens.LensResult;
import dev.gguflens.lens.LogitDistribution;
import dev.gguflens.lens.LogitLens;
import dev.gguflens.lens.TrackedToken;
import dev.gguflens.llama.Capture;
import dev.gguflens.llama.CaptureRequest;
import dev.gguflens.report.ProbeReport;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
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
     *                         vectors, after the lens ({@link ModelSession#bareProductMillis})
     */
    private static Run run(ModelSession session, PromptSpec main, List<PromptSpec> extras, boolean keepLastPosition,
                           boolean timeBareProduct, boolean sublayers) {
        ProbeSettings settings = session.settings();
        ProbeReportMapper mapper = new ProbeReportMapper(session.texts(), settings.topK());
        int[] tokens = session.tokenizePrompt(main.prompt());
        List<TrackedToken> tracked = main.expected().stream().map(a -> session.trackedToken(main.prompt(), tokens, a)).toList();
        int n = tokens.length;
        int[] positions = settings.allPositions() ? IntStream.range(0, n).toArray() : new int[] {n - 1};

        long forwardStart = System.nanoTime();
        CaptureRequest what = sublayers ? SublayerSites.request(session.model().layerCount(), false)
                : new CaptureRequest(true, false, true, List.of());
        try (Capture capture = session.capture(tokens, what)) {
            double forwardMs = (System.nanoTime() - forwardStart) / 1e6;

            long lensStart = System.nanoTime();
            float[][] reference = Arrays.stream(positions).mapToObj(capture::logitsArray).toArray(float[][]::new);
            LensRequest request = new LensRequest(settings.lens(), settings.topK(), positions, tracked, reference, tokens,
                    LensRequest.contentTokens(session.model()::tokenText));
            if (keepLastPosition) request = request.keepingLastPositionLogProbs();
            float[][] residuals = keepLastPosition ? lastResiduals(capture, n - 1) : null;
            LensResult result = session.lens(capture, request);
            LensResult mid = sublayers ? LogitLens.run(session.head(), SublayerSites.midStates(capture,
                    session.model().architecture()), request, settings.threads()) : null;
            double lensMs = (System.nanoTime() - lensStart) / 1e6;
            Double bareProductMs = timeBareProduct ? session.bareProductMillis(result.layers() * positions.length) : null;

            long reportStart = System.nanoTime();
            float[] finalLogits = reference[reference.length - 1];
            int last = positions.length - 1;
            List<ProbeReport.PositionEntry> positionEntries =
                    settings.allPositions() ? mapper.positionEntries(result, mid, positions, tokens) : null;
            List<ProbeReport.ExtraPrompt> extraReports = extras.stream().map(e -> extraPrompt(session, mapper, e)).toList();
            List<ProbeReport.TemperaturePoint> sweep = settings.temperatures().stream()
                    .map(t -> mapper.temperaturePoint(t, LogitDistribution.of(finalLogits, t))).toList();
            ProbeReport.FinalPrediction finalPrediction = mapper.finalPrediction(LogitDistribution.of(finalLogits));
            ProbeReport.ModelInfo modelInfo = ProbeReportMapper.modelInfo(session.file(), session.model());
            List<ProbeReport.TokenInfo> tokenInfos = mapper.tokens(tokens);
            List<ProbeReport.LayerEntry> layers = mapper.layerEntries(result, mid, last);
            ProbeReport.Milestones milestones = mapper.milestones(result.milestones());
            double reportMs = (System.nanoTime() - reportStart) / 1e6;

            ProbeReport report = new ProbeReport(modelInfo, main.prompt(), tokenInfos,
                    ProbeReportMapper.lensDescription(settings.lens(), session.head()), layers, positionEntries,
                    finalPrediction, ProbeReportMapper.consistency(result.consistency().get(last)), milestones,
                    extraReports, sweep,
                    new ProbeReport.Timings(session.loadMillis(), forwardMs, lensMs, bareProductMs, reportMs,
                            PeakMemory.peakRssBytes()));
            return new Run(report, result.lastPositionLogProbs(), residuals);
        }
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
        Integer id = spec.expected().isEmpty() ? null
                : session.trackedToken(spec.prompt(), tokens, spec.expected().getFirst()).id();
        return mapper.extraPrompt(spec, LogitDistribution.of(logits), id);
    }
}
