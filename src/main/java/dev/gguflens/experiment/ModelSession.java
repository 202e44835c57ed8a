package dev.gguflens.experiment;

import dev.gguflens.gguf.FileType;
import dev.gguflens.gguf.GgufFile;
import dev.gguflens.gguf.GgufTensor;
import dev.gguflens.gguf.GgufValue;
import dev.gguflens.gguf.GgufValueType;
import dev.gguflens.lens.HeadConsistency;
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
import dev.gguflens.llama.FlashAttention;
import dev.gguflens.llama.KvCacheMemory;
import dev.gguflens.llama.KvCacheType;
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
    private final GgufFile file;
    private final LensHead head;
    private final LlamaModel model;
    private final LlamaContext context;
    private final ProbeSettings settings;
    private final TokenTexts texts;
    private final double loadMillis;
    /** Why the KV cache has its type (the option, or the default rule with the F32 size). */
    private final String kvCacheReason;

    private ModelSession(GgufFile file, LensHead head, LlamaModel model, LlamaContext context, ProbeSettings settings,
                         double loadMillis, String kvCacheReason) {
        this.kvCacheReason = kvCacheReason;
        this.file = file;
        this.head = head;
        this.model = model;
        this.context = context;
        this.settings = settings;
        this.texts = new TokenTexts(model);
        this.loadMillis = loadMillis;
    }

    /** Validates the GGUF in Java, builds the lens head, then lets llama.cpp load the model. */
    public static ModelSession open(Path gguf, ProbeSettings settings, ProgressListener progress) {
        long start = System.nanoTime();
        GgufFile file = GgufFile.open(gguf);
        LlamaModel model = null;
        LlamaContext context = null;
        try {
            LensHead head = LensHead.fromGguf(file);
            model = LlamaModel.load(gguf, new ModelParams(settings.gpuLayers(), true, progress));
            long f32Bytes = KvCacheMemory.f32Bytes(file, settings.contextSize());
            KvCacheType kvType = settings.kvCacheType() != null ? settings.kvCacheType() : KvCacheMemory.defaultType(f32Bytes);
            FlashAttention flash = settings.flashAttention() != null ? settings.flashAttention()
                    : kvType.quantized() ? FlashAttention.ON : FlashAttention.OFF;
            String reason = settings.kvCacheType() != null ? "--kv-type " + kvType.llamaName()
                    : String.format(Locale.ROOT, "default: the F32 cache for %d tokens is %s, %s the %d MiB limit",
                            settings.contextSize(), mebibytes(f32Bytes),
                            f32Bytes <= KvCacheMemory.EXACT_LIMIT_BYTES ? "within" : "over",
                            KvCacheMemory.EXACT_LIMIT_BYTES >> 20);
            context = LlamaContext.create(model, new ContextParams(settings.contextSize(),
                    Math.min(settings.contextSize(), 512), settings.threads(), kvType, flash));
            return new ModelSession(file, head, model, context, settings, (System.nanoTime() - start) / 1e6, reason);
        } catch (RuntimeException | Error e) {
            if (context != null) context.close();
            if (model != null) model.close();
            file.close();
            throw e;
        }
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

    /** The KV cache and flash attention as the last capture ran them. */
    public ProbeReport.KvCache kvCache() {
        boolean used = context.flashAttentionUsed();
        String flash = (context.requestedFlashAttention() == FlashAttention.AUTO ? "auto -> " : "") + (used ? "on" : "off");
        return new ProbeReport.KvCache(context.kvCacheType().llamaName(), flash,
                context.kvCacheType() == KvCacheType.F32 && !used, kvCacheReason);
    }

    private static String mebibytes(long bytes) {
        return String.format(Locale.ROOT, bytes < (10L << 20) ? "%.2f MiB" : "%.0f MiB", bytes / 1048576.0);
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
        return new TrackedToken(answer, answerTokens(prompt, promptTokens, answer)[0]);
    }

    /**
     * All tokens of {@code answer} as the model would see them after the prompt (at least one): the tokens of
     * prompt + " " + answer past the prompt's own, or, when the prompt's tokens are not a prefix, the answer
     * tokenised alone.
     */
    public int[] answerTokens(String prompt, int[] promptTokens, String answer) {
        if (answer == null || answer.isBlank()) throw new InvalidInputException("--expect '" + answer + "' is empty");
        boolean needsSpace = !prompt.isEmpty() && !Character.isWhitespace(prompt.charAt(prompt.length() - 1))
                && !Character.isWhitespace(answer.charAt(0));
        String continuation = needsSpace ? " " + answer : answer;
        int[] full = model.tokenize(prompt + continuation, true, false);
        if (full.length > promptTokens.length
                && Arrays.equals(full, 0, promptTokens.length, promptTokens, 0, promptTokens.length)) {
            return Arrays.copyOfRange(full, promptTokens.length, full.length);
        }
        int[] alone = model.tokenize(continuation, false, false);
        if (alone.length == 0) throw new InvalidInputException("--expect '" + answer + "' tokenises to nothing");
        return alone;
    }

    /** Per layer, the lens log-probability of a whole answer (nats) and the worst rank among its tokens. */
    record AnswerView(double[] logProb, int[] worstRank) {}

    /**
     * The whole answer under teacher forcing: answer token j is scored at capture position promptLength - 1 + j,
     * which sees the prompt and the answer's tokens before j.
     */
    private AnswerView answerView(Capture capture, int promptLength, String answer, int[] answerTokens) {
        int k = answerTokens.length;
        int[] positions = IntStream.range(0, k).map(j -> promptLength - 1 + j).toArray();
        List<TrackedToken> tracked = Arrays.stream(answerTokens).mapToObj(id -> new TrackedToken(answer, id)).toList();
        LensResult r = LogitLens.run(head, statesOf(capture), new LensRequest(settings.lens(), 1, positions, tracked),
                settings.threads());
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

    /** The prompt followed by all but the last answer token: the tokens whose positions predict the whole answer. */
    private int[] teacherForced(int[] prompt, int[] answer) {
        int[] out = Arrays.copyOf(prompt, prompt.length + answer.length - 1);
        System.arraycopy(answer, 0, out, prompt.length, answer.length - 1);
        if (out.length > context.contextSize()) {
            throw new InvalidInputException("the prompt and the answer have " + out.length
                    + " tokens, longer than the context size " + context.contextSize() + " (raise -c)");
        }
        return out;
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
        List<int[]> answerTokens = main.expected().stream().map(a -> answerTokens(main.prompt(), tokens, a)).toList();
        List<TrackedToken> tracked = IntStream.range(0, answerTokens.size())
                .mapToObj(i -> new TrackedToken(main.expected().get(i), answerTokens.get(i)[0])).toList();
        boolean sequence = settings.answerMode() == AnswerMode.SEQUENCE && !answerTokens.isEmpty();
        int n = tokens.length;
        int[] positions = settings.allPositions() ? IntStream.range(0, n).toArray() : new int[] {n - 1};
        // Sequence mode appends the first answer to the prompt in the same pass; causal attention leaves the
        // prompt's positions as they are without it.
        int[] forward = sequence ? teacherForced(tokens, answerTokens.getFirst()) : tokens;

        long forwardStart = System.nanoTime();
        try (Capture capture = context.capture(forward, new CaptureRequest(true, false, true, List.of()))) {
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
            List<AnswerView> views = new ArrayList<>();
            if (sequence) {
                for (int i = 0; i < answerTokens.size(); i++) {
                    if (i == 0) {
                        views.add(answerView(capture, n, main.expected().getFirst(), answerTokens.getFirst()));
                    } else {
                        try (Capture other = context.capture(teacherForced(tokens, answerTokens.get(i)),
                                new CaptureRequest(true, false, false, List.of()))) {
                            views.add(answerView(other, n, main.expected().get(i), answerTokens.get(i)));
                        }
                    }
                }
            }
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
                            layerEntries(result, i, i == last ? views : List.of())));
                }
            }
            LensResult.PositionConsistency c = result.consistency().get(last);
            HeadConsistency split = HeadConsistency.of(head, capture.layerStateArray(capture.layers() - 1, n - 1),
                    finalLogits, settings.threads());
            ProbeReport.Consistency consistency = new ProbeReport.Consistency(c.klBits(), c.maxAbsLogitDiff(),
                    c.top1Agree(), split.warning(), split.activationType().name(), split.expectedKlBits(),
                    split.expectedMaxAbsLogitDiff(), split.unexplainedKlBits(), split.unexplainedMaxAbsLogitDiff(),
                    HeadConsistency.WARNING_BITS);
            List<ProbeReport.ExtraPrompt> extraReports = extras.stream().map(this::extraPrompt).toList();
            List<ProbeReport.TemperaturePoint> sweep = settings.temperatures().stream().map(t -> {
                LogitDistribution d = LogitDistribution.of(finalLogits, t);
                return new ProbeReport.TemperaturePoint(t, d.entropyBits(), top(d.top(settings.topK())));
            }).toList();
            double reportMs = (System.nanoTime() - reportStart) / 1e6;

            List<ProbeReport.Answer> answers = IntStream.range(0, answerTokens.size()).mapToObj(i -> new ProbeReport.Answer(
                    main.expected().get(i), Arrays.stream(answerTokens.get(i)).mapToObj(id -> new ProbeReport.TokenInfo(id,
                    texts.text(id))).toList(), answerTokens.get(i).length > 1, settings.answerMode().optionName())).toList();
            ProbeReport.Milestones milestones = milestones(result.milestones());
            if (sequence) milestones = withAnswerRanks(milestones, views.getFirst().worstRank());
            ProbeReport report = new ProbeReport(modelInfo(), main.prompt(), tokenInfos, lensDescription(),
                    layerEntries(result, last, views), positionEntries,
                    new ProbeReport.FinalPrediction(finalDistribution.entropyNats(), finalDistribution.entropyBits(),
                            top(finalDistribution.top(settings.topK()))),
                    consistency, milestones, extraReports, sweep,
                    new ProbeReport.Timings(loadMillis, forwardMs, lensMs, null, reportMs, PeakMemory.peakRssBytes()),
                    kvCache(), answers);
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
        Integer count = null;
        if (expected != null) {
            int[] answer = answerTokens(spec.prompt(), tokens, expected);
            id = answer[0];
            count = answer.length;
            rank = d.rank(id);
            p = d.probability(id);
        }
        return new ProbeReport.ExtraPrompt(spec.prompt(), expected, id, rank, p, d.entropyBits(), top(d.top(settings.topK())), count);
    }

    /** Layer entries at one position; {@code views} (sequence mode, last position) add each answer's whole view. */
    private List<ProbeReport.LayerEntry> layerEntries(LensResult result, int positionIndex, List<AnswerView> views) {
        List<ProbeReport.LayerEntry> entries = new ArrayList<>(result.layers());
        for (int layer = 0; layer < result.layers(); layer++) {
            LensResult.LayerRecord r = result.record(layer, positionIndex);
            List<ProbeReport.TopToken> topTokens = r.topK().stream()
                    .map(t -> new ProbeReport.TopToken(t.id(), texts.text(t.id()), t.probability())).toList();
            List<ProbeReport.Expected> expected = new ArrayList<>();
            for (int k = 0; k < r.tracked().size(); k++) {
                LensResult.TrackedRank t = r.tracked().get(k);
                AnswerView v = k < views.size() ? views.get(k) : null;
                expected.add(new ProbeReport.Expected(t.text(), t.id(), texts.text(t.id()), t.rank(), t.probability(),
                        v == null ? null : v.logProb()[layer], v == null ? null : v.worstRank()[layer]));
            }
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

    /** Sequence mode: the rank milestones follow the whole answer (its worst token rank at each layer). */
    private static ProbeReport.Milestones withAnswerRanks(ProbeReport.Milestones m, int[] worstRank) {
        return new ProbeReport.Milestones(firstLayer(worstRank, 1), firstLayer(worstRank, 5), firstLayer(worstRank, 10),
                m.firstKlBelow1Bit(), m.firstKlBelowHalfBit(), m.copyCollapse(), m.copyCollapseToken());
    }

    private static ProbeReport.Milestone firstLayer(int[] rank, int atMost) {
        double depth = Math.max(1, rank.length - 1);
        for (int layer = 0; layer < rank.length; layer++) {
            if (rank[layer] <= atMost) return new ProbeReport.Milestone(layer, layer / depth);
        }
        return ProbeReport.Milestone.never();
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
