package dev.gguflens.experiment;

import dev.gguflens.gguf.FileType;
import dev.gguflens.gguf.GgufFile;
import dev.gguflens.gguf.GgufTensor;
import dev.gguflens.gguf.GgufValue;
import dev.gguflens.gguf.GgufValueType;
import dev.gguflens.lens.LayerStates;
import dev.gguflens.lens.LensHead;
import dev.gguflens.lens.LensRequest;
import dev.gguflens.lens.LensResult;
import dev.gguflens.lens.LogitDistribution;
import dev.gguflens.lens.LogitLens;
import dev.gguflens.lens.TrackedToken;
import dev.gguflens.llama.Capture;
import dev.gguflens.llama.CaptureRequest;
import dev.gguflens.llama.ContextParams;
import dev.gguflens.llama.LlamaContext;
import dev.gguflens.llama.LlamaModel;
import dev.gguflens.llama.ModelParams;
import dev.gguflens.llama.ProgressListener;
import dev.gguflens.report.ProbeReport;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.IntStream;

/**
 * One model, loaded once: the validated GGUF (for the lens head, read through the memory map), llama.cpp's
 * model and context. {@link #probe} runs a prompt through llama.cpp, the lens over every layer, and assembles
 * the {@link ProbeReport}. Close it before loading the next model.
 */
public final class ModelSession implements AutoCloseable {
    /** Above this KL between the lens at the last layer and llama.cpp's logits, the report warns. */
    public static final double CONSISTENCY_WARNING_BITS = 0.01;

    private final GgufFile file;
    private final LensHead head;
    private final LlamaModel model;
    private final LlamaContext context;
    private final ProbeSettings settings;
    private final TokenTexts texts;
    private final double loadMillis;
    private final List<String> notes;

    private ModelSession(GgufFile file, LensHead head, LlamaModel model, LlamaContext context, ProbeSettings settings,
                         double loadMillis, List<String> notes) {
        this.file = file;
        this.head = head;
        this.model = model;
        this.context = context;
        this.settings = settings;
        this.texts = new TokenTexts(model);
        this.loadMillis = loadMillis;
        this.notes = List.copyOf(notes);
    }

    /** Validates the GGUF in Java, builds the lens head, then lets llama.cpp load the model. */
    public static ModelSession open(Path gguf, ProbeSettings settings, ProgressListener progress) {
        long start = System.nanoTime();
        GgufFile file = GgufFile.open(gguf);
        LlamaModel model = null;
        LlamaContext context = null;
        try {
            int contextSize = checkedContextSize(file, settings);
            int vocabulary = file.vocabulary().size();
            if (settings.topK() > vocabulary) {
                throw new InvalidInputException("--top-k " + settings.topK() + " exceeds the vocabulary of " + vocabulary
                        + " tokens of " + file.path());
            }
            LensHead head = LensHead.fromGguf(file);
            model = LlamaModel.load(gguf, new ModelParams(settings.gpuLayers(), true, progress));
            context = LlamaContext.create(model, new ContextParams(contextSize, Math.min(contextSize, 512), settings.threads()));
            List<String> notes = new ArrayList<>();
            if (context.contextSize() != contextSize) {
                notes.add("context size " + contextSize + " became " + context.contextSize()
                        + " (llama.cpp allocates the context in multiples of 256 tokens)");
            }
            return new ModelSession(file, head, model, context, settings, (System.nanoTime() - start) / 1e6, notes);
        } catch (RuntimeException | Error e) {
            if (context != null) context.close();
            if (model != null) model.close();
            file.close();
            throw e;
        }
    }

    /**
     * The context size to ask llama.cpp for: the given one, or the default (the trained context, at most
     * {@link ProbeSettings#DEFAULT_CONTEXT}); above the trained context only when forced.
     */
    static int checkedContextSize(GgufFile file, ProbeSettings settings) {
        int trained = file.hyperparameters().contextLength();
        if (settings.contextSize() == 0) {
            return trained > 0 ? Math.min(trained, ProbeSettings.DEFAULT_CONTEXT) : ProbeSettings.DEFAULT_CONTEXT;
        }
        if (trained > 0 && settings.contextSize() > trained && !settings.forceContext()) {
            throw new InvalidInputException("-c " + settings.contextSize() + " exceeds the context of " + trained
                    + " tokens " + file.path().getFileName() + " was trained on (--force-context allows it)");
        }
        return settings.contextSize();
    }

    /** What was adjusted while loading (e.g. the context size rounded up), one line each for the user. */
    public List<String> notes() {
        return notes;
    }

    public GgufFile file() {
        return file;
    }

    public LlamaModel model() {
        return model;
    }

    public double loadMillis() {
        return loadMillis;
    }

    /** Tokenises a prompt the way the probe runs it: with the model's BOS etc., special-token text kept literal. */
    public int[] tokenizePrompt(String prompt) {
        int[] tokens = model.tokenize(prompt, true, false);
        if (tokens.length == 0) throw new InvalidInputException("the prompt '" + prompt + "' tokenises to nothing");
        if (tokens.length > context.contextSize()) {
            throw new InvalidInputException("the prompt has " + tokens.length + " tokens, longer than the context size "
                    + context.contextSize() + " (raise -c)");
        }
        return tokens;
    }

    /**
     * The token that stands for {@code answer} right after the prompt: the first token of the answer as the
     * model would see it there, leading space included (tokenise prompt + " " + answer and take the first
     * token past the prompt's own tokens; when the prompt's tokens are not a prefix, tokenise the answer alone).
     */
    public TrackedToken trackedToken(String prompt, int[] promptTokens, String answer) {
        if (answer == null || answer.isBlank()) throw new InvalidInputException("--expect '" + answer + "' is empty");
        boolean needsSpace = !prompt.isEmpty() && !Character.isWhitespace(prompt.charAt(prompt.length() - 1))
                && !Character.isWhitespace(answer.charAt(0));
        String continuation = needsSpace ? " " + answer : answer;
        int[] full = model.tokenize(prompt + continuation, true, false);
        if (full.length > promptTokens.length
                && Arrays.equals(full, 0, promptTokens.length, promptTokens, 0, promptTokens.length)) {
            return new TrackedToken(answer, full[promptTokens.length]);
        }
        int[] alone = model.tokenize(continuation, false, false);
        if (alone.length == 0) throw new InvalidInputException("--expect '" + answer + "' tokenises to nothing");
        return new TrackedToken(answer, alone[0]);
    }

    /** Runs the main prompt through the lens, the extra prompts through llama.cpp alone, and the temperature sweep. */
    public ProbeReport probe(PromptSpec main, List<PromptSpec> extras) {
        return probe(main, extras, false).report();
    }

    /**
     * A probe plus what a comparison between models needs at the last prompt position: each layer's lens
     * log-probabilities over the whole vocabulary and each layer's residual state (both float32, one row per
     * layer 0..n_layer).
     */
    public record ProbeRun(ProbeReport report, float[][] lastLogProbs, float[][] lastResiduals) {}

    /** As {@link #probe(PromptSpec, List)}; with {@code keepLastPosition} the run also keeps the rows of {@link ProbeRun}. */
    public ProbeRun probe(PromptSpec main, List<PromptSpec> extras, boolean keepLastPosition) {
        int[] tokens = tokenizePrompt(main.prompt());
        List<TrackedToken> tracked = main.expected().stream().map(a -> trackedToken(main.prompt(), tokens, a)).toList();
        int n = tokens.length;
        int[] positions = settings.allPositions() ? IntStream.range(0, n).toArray() : new int[] {n - 1};

        long forwardStart = System.nanoTime();
        try (Capture capture = context.capture(tokens, new CaptureRequest(true, false, true, List.of()))) {
            double forwardMs = (System.nanoTime() - forwardStart) / 1e6;

            long lensStart = System.nanoTime();
            float[][] reference = Arrays.stream(positions).mapToObj(capture::logitsArray).toArray(float[][]::new);
            LensRequest request = new LensRequest(settings.lens(), settings.topK(), positions, tracked, reference, tokens,
                    LensRequest.contentTokens(model::tokenText));
            if (keepLastPosition) request = request.keepingLastPositionLogProbs();
            float[][] residuals = null;
            if (keepLastPosition) {
                residuals = new float[capture.layers()][capture.embeddingLength()];
                for (int layer = 0; layer < capture.layers(); layer++) {
                    MemorySegment row = capture.layerState(layer, n - 1);
                    MemorySegment.copy(row, ValueLayout.JAVA_FLOAT, 0, residuals[layer], 0, capture.embeddingLength());
                }
            }
            LensResult result = LogitLens.run(head, statesOf(capture), request, settings.threads());
            double lensMs = (System.nanoTime() - lensStart) / 1e6;

            long reportStart = System.nanoTime();
            float[] finalLogits = reference[reference.length - 1];
            LogitDistribution finalDistribution = LogitDistribution.of(finalLogits);
            List<ProbeReport.TokenInfo> tokenInfos = Arrays.stream(tokens)
                    .mapToObj(id -> new ProbeReport.TokenInfo(id, texts.text(id))).toList();
            int last = positions.length - 1;
            List<ProbeReport.PositionEntry> positionEntries = null;
            if (settings.allPositions()) {
                positionEntries = new ArrayList<>();
                for (int i = 0; i < positions.length; i++) {
                    int pos = positions[i];
                    positionEntries.add(new ProbeReport.PositionEntry(pos, tokens[pos], texts.text(tokens[pos]),
                            layerEntries(result, i)));
                }
            }
            LensResult.PositionConsistency c = result.consistency().get(last);
            ProbeReport.Consistency consistency = new ProbeReport.Consistency(c.klBits(), c.maxAbsLogitDiff(),
                    c.top1Agree(), c.klBits() > CONSISTENCY_WARNING_BITS);
            List<ProbeReport.ExtraPrompt> extraReports = extras.stream().map(this::extraPrompt).toList();
            List<ProbeReport.TemperaturePoint> sweep = settings.temperatures().stream().map(t -> {
                LogitDistribution d = LogitDistribution.of(finalLogits, t);
                return new ProbeReport.TemperaturePoint(t, d.entropyBits(), top(d.top(settings.topK())));
            }).toList();
            double reportMs = (System.nanoTime() - reportStart) / 1e6;

            ProbeReport report = new ProbeReport(modelInfo(), main.prompt(), tokenInfos, lensDescription(),
                    layerEntries(result, last), positionEntries,
                    new ProbeReport.FinalPrediction(finalDistribution.entropyNats(), finalDistribution.entropyBits(),
                            top(finalDistribution.top(settings.topK()))),
                    consistency, milestones(result.milestones()), extraReports, sweep,
                    new ProbeReport.Timings(loadMillis, forwardMs, lensMs, null, reportMs, PeakMemory.peakRssBytes()));
            return new ProbeRun(report, result.lastPositionLogProbs(), residuals);
        }
    }

    /**
     * Times the output-weight product alone for {@code vectors} inputs (the lens's M for a report: layers x
     * positions plus the final rows), so --timings can show what the lens's statistics add on top.
     */
    public double bareProductMillis(int vectors) {
        var projection = head.output();
        float[] x = new float[vectors * projection.columns()];
        java.util.Arrays.fill(x, 0.01f);
        float[] y = new float[vectors * LENS_BLOCK_ROWS];
        long start = System.nanoTime();
        for (int row = 0; row < projection.rows(); row += LENS_BLOCK_ROWS) {
            int end = Math.min(projection.rows(), row + LENS_BLOCK_ROWS);
            projection.multiply(x, vectors, row, end, y, settings.threads());
        }
        return (System.nanoTime() - start) / 1e6;
    }

    /** Vocabulary rows per block of the bare-product timing, like the lens's own streaming blocks. */
    private static final int LENS_BLOCK_ROWS = 8192;

    private ProbeReport.ExtraPrompt extraPrompt(PromptSpec spec) {
        int[] tokens = tokenizePrompt(spec.prompt());
        float[] logits;
        try (Capture capture = context.capture(tokens, new CaptureRequest(false, false, true, List.of()))) {
            logits = capture.logitsArray(tokens.length - 1);
        }
        LogitDistribution d = LogitDistribution.of(logits);
        String expected = spec.expected().isEmpty() ? null : spec.expected().getFirst();
        Integer id = null;
        Integer rank = null;
        Double p = null;
        if (expected != null) {
            id = trackedToken(spec.prompt(), tokens, expected).id();
            rank = d.rank(id);
            p = d.probability(id);
        }
        return new ProbeReport.ExtraPrompt(spec.prompt(), expected, id, rank, p, d.entropyBits(), top(d.top(settings.topK())));
    }

    private List<ProbeReport.LayerEntry> layerEntries(LensResult result, int positionIndex) {
        List<ProbeReport.LayerEntry> entries = new ArrayList<>(result.layers());
        for (int layer = 0; layer < result.layers(); layer++) {
            LensResult.LayerRecord r = result.record(layer, positionIndex);
            List<ProbeReport.TopToken> topTokens = r.topK().stream()
                    .map(t -> new ProbeReport.TopToken(t.id(), texts.text(t.id()), t.probability())).toList();
            List<ProbeReport.Expected> expected = r.tracked().stream()
                    .map(t -> new ProbeReport.Expected(t.text(), t.id(), texts.text(t.id()), t.rank(), t.probability()))
                    .toList();
            entries.add(new ProbeReport.LayerEntry(layer, r.entropyNats(), r.entropyBits(), topTokens, expected,
                    r.klToFinalBits(), r.cosToFinal(), r.residualNorm()));
        }
        return entries;
    }

    private List<ProbeReport.TopToken> top(List<LensResult.TokenProbability> tokens) {
        return tokens.stream().map(t -> new ProbeReport.TopToken(t.id(), texts.text(t.id()), t.probability())).toList();
    }

    private ProbeReport.Milestones milestones(LensResult.Milestones m) {
        var copy = m.copyCollapse();
        return new ProbeReport.Milestones(milestone(m.firstRank1()), milestone(m.firstRankAtMost5()),
                milestone(m.firstRankAtMost10()), milestone(m.firstKlBelow1Bit()), milestone(m.firstKlBelowHalfBit()),
                copy.map(c -> new ProbeReport.Milestone(c.layer(), c.depthFraction())).orElse(ProbeReport.Milestone.never()),
                copy.map(c -> texts.text(c.tokenId())).orElse(null));
    }

    private static ProbeReport.Milestone milestone(java.util.Optional<LensResult.Milestone> m) {
        return m.map(x -> new ProbeReport.Milestone(x.layer(), x.depthFraction())).orElse(ProbeReport.Milestone.never());
    }

    private String lensDescription() {
        return switch (settings.lens()) {
            case NORM -> String.format(Locale.ROOT, "norm (the model's final %s with its weight, eps %.3g, recomputed per layer)",
                    head.norm() == dev.gguflens.lens.NormKind.RMS_NORM ? "RMSNorm" : "LayerNorm", head.epsilon());
            case RAW -> "raw (no normalisation)";
            case RMS -> String.format(Locale.ROOT, "rms (RMS scaling without the norm weight, eps %.3g)", head.epsilon());
        };
    }

    /** The text of a token as reports show it. */
    public String tokenText(int id) {
        return texts.text(id);
    }

    public ProbeReport.ModelInfo modelInfo() {
        var hp = file.hyperparameters();
        String arch = hp.architecture();
        long params = file.tensors().stream().mapToLong(GgufTensor::elementCount).sum();
        String outputType = file.tensor("output.weight").or(() -> file.tensor("token_embd.weight"))
                .map(t -> t.type().name()).orElse("?");
        String fileType = hp.fileType().isPresent() ? FileType.name(hp.fileType().getAsInt()) : guessedFileType();
        String name = file.path().getFileName().toString().replaceFirst("(?i)(-\\d{5}-of-\\d{5})?\\.gguf$", "");
        return new ProbeReport.ModelInfo(name, file.path().toString(), arch, hp.blockCount(), hp.embeddingLength(),
                model.vocabSize(), scalar(arch + ".attention.head_count"), scalar(arch + ".attention.head_count_kv"),
                model.trainedContextLength(), fileType, outputType, params, file.fileSize());
    }

    /** Without general.file_type: the type most of the 2-D weights use, marked as a guess. */
    private String guessedFileType() {
        return file.tensors().stream().filter(t -> t.dimensions() >= 2)
                .collect(java.util.stream.Collectors.groupingBy(t -> t.type().name(),
                        java.util.stream.Collectors.summingLong(GgufTensor::elementCount)))
                .entrySet().stream().max(java.util.Map.Entry.comparingByValue())
                .map(e -> e.getKey() + " (guessed)").orElse("unknown");
    }

    /** An integer hyperparameter, or null when absent or per-layer (an array). */
    private Integer scalar(String key) {
        return file.get(key).filter(v -> v.type() != GgufValueType.ARRAY).map(GgufValue::asLong).map(Math::toIntExact)
                .orElse(null);
    }

    /** The capture's off-heap states as the lens's input, copied a row at a time (no per-element calls). */
    private static LayerStates statesOf(Capture capture) {
        return new LayerStates() {
            @Override
            public int layers() {
                return capture.layers();
            }

            @Override
            public int positions() {
                return capture.positions();
            }

            @Override
            public int embeddingLength() {
                return capture.embeddingLength();
            }

            @Override
            public void copyState(int layer, int position, float[] dst, int dstOffset) {
                MemorySegment row = capture.layerState(layer, position);
                MemorySegment.copy(row, ValueLayout.JAVA_FLOAT, 0, dst, dstOffset, capture.embeddingLength());
            }
        };
    }

    @Override
    public void close() {
        try {
            context.close();
        } finally {
            try {
                model.close();
            } finally {
                file.close();
            }
        }
    }
}
