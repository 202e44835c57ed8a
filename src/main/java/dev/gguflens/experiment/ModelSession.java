package dev.gguflens.experiment;

import dev.gguflens.gguf.GgufFile;
import dev.gguflens.gguf.GgufTensor;
import dev.gguflens.lens.LayerStates;
import dev.gguflens.lens.HeadLookup;
import dev.gguflens.lens.LensHead;
import dev.gguflens.lens.LensRequest;
import dev.gguflens.lens.LensResult;
import dev.gguflens.lens.LensWarmup;
import dev.gguflens.lens.LogitLens;
import dev.gguflens.lens.LogitProjection;
import dev.gguflens.lens.TrackedToken;
import dev.gguflens.llama.Capture;
import dev.gguflens.llama.CaptureRequest;
import dev.gguflens.llama.Intervention;
import dev.gguflens.llama.ContextParams;
import dev.gguflens.llama.FlashAttention;
import dev.gguflens.llama.KvCacheMemory;
import dev.gguflens.llama.KvCacheType;
import dev.gguflens.llama.LlamaContext;
import dev.gguflens.llama.LlamaModel;
import dev.gguflens.llama.GpuPlacement;
import dev.gguflens.llama.ModelParams;
import dev.gguflens.llama.ProgressListener;
import dev.gguflens.quant.WeightMatrix;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * One model, loaded once: the validated GGUF (for the lens head, read through the memory map), llama.cpp's
 * model and context. It loads, tokenises, captures the residual stream and runs the lens over a capture;
 * the experiments ({@link Probe}, {@link Comparison}) build on it. Close it before loading the next model.
 */
public final class ModelSession implements AutoCloseable {
    private final GgufFile file;
    private final LensHead head;
    private final LlamaModel model;
    /**
     * The session's context: made at open when the context size was given (-c), else at the first capture, sized
     * to it (multiples of {@link #CONTEXT_STEP}) and remade larger when a later run needs more, up to
     * {@link #contextLimit}. A probe's prompt of ~11 tokens needs 256, not the default 2048 (Qwen3-8B's F32 KV
     * cache: 72 MiB instead of 576).
     */
    private LlamaContext context;
    /** The longest run the context accepts: the given context size, else the default maximum (rounded as llama.cpp does). */
    private final int contextLimit;
    /** Whether the context follows the runs (no context size given) rather than being made once at open. */
    private final boolean sizedToRuns;
    /** The session context's parameters at the maximum size; the KV cache type is decided on that size. */
    private final ContextParams maxParams;
    private final ProbeSettings settings;
    private final TokenTexts texts;
    private final double loadMillis;
    private final List<String> notes;
    /** Why the KV cache has its type (the option, or the default rule with the F32 size). */
    private final String kvCacheReason;
    /** Warms the lens while llama.cpp loads (null when not asked for); the first lens waits for it. */
    private final LensWarmup warmup;

    private ModelSession(GgufFile file, LensHead head, LlamaModel model, LlamaContext context, int contextLimit,
                         ContextParams maxParams, ProbeSettings settings,
                         double loadMillis, String kvCacheReason, List<String> notes, LensWarmup warmup) {
        this.contextLimit = contextLimit;
        this.sizedToRuns = context == null;
        this.maxParams = maxParams;
        this.kvCacheReason = kvCacheReason;
        this.warmup = warmup;
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
        return open(gguf, settings, progress, false);
    }

    /**
     * As {@link #open(Path, ProbeSettings, ProgressListener)}; with {@code warmLens} (commands whose job is the lens:
     * probe, compare) a background {@link LensWarmup} reads the output weight in and compiles the lens's kernels
     * while llama.cpp loads, so the first lens of the process runs at the speed of later ones.
     */
    public static ModelSession open(Path gguf, ProbeSettings settings, ProgressListener progress, boolean warmLens) {
        long start = System.nanoTime();
        GgufFile file = GgufFile.open(gguf);
        LlamaModel model = null;
        LlamaContext context = null;
        LensWarmup warmup = null;
        try {
            int contextSize = checkedContextSize(file, settings);
            int vocabulary = file.vocabulary().size();
            if (settings.topK() > vocabulary) {
                throw new InvalidInputException("top_k", settings.topK(), "exceeds the vocabulary of " + vocabulary
                        + " tokens of " + file.path());
            }
            LensHead head = HeadLookup.fromGguf(file);   // on the file's mapping until llama.cpp has loaded
            GpuPlacement.Problem placement = settings.placement().problem(LlamaModel.offloadDevices(settings.gpuLayers()));
            if (placement != null) throw new InvalidInputException(placement.field(), placement.value(), placement.text());
            // Layers x positions of the first lens: all positions of a short prompt, or the last one.
            // As many threads as the lens: with one, the kernels' parallel paths stayed cold (C2 compiled FusedMatmul's
            // range workers during the real lens, whose first last-position run then took 1.6-3.2x the second).
            if (warmLens && outputBytes(file) >= LensWarmup.MIN_OUTPUT_BYTES && WARMUP != Warmup.OFF) {
                // Reading the output weight's pages in through the file's own mapping would count them twice when
                // the lens is going to read llama.cpp's (onLlamaPages): a CPU model, not repacked. llama.cpp
                // faults the whole file in as it maps it (MAP_POPULATE), so there is nothing left to prefetch.
                boolean cpuMapped = LlamaModel.offloadDevices(settings.gpuLayers()).isEmpty() && !settings.repackOrDefault();
                // The lens's shape as far as it is known before the prompt (expectLens gives the rest): the last
                // position with one tracked answer. For all positions too: until the prompt is known, a run over one
                // position costs a twelfth of an 11-token prompt's, and the first runs are interpreted (Qwen3-8B-shaped,
                // 8 positions, load ~7: 16 s for the first run, so a 30 s budget allowed 9 runs of the real shape).
                warmup = LensWarmup.start(head, new LensWarmup.Expectation(settings.lens(), settings.topK(),
                        file.hyperparameters().blockCount() + 1, 1, 1, false),
                        settings.threads(), !cpuMapped, cpuMapped);
            }
            model = LlamaModel.load(gguf, new ModelParams(settings.gpuLayers(), true, settings.repackOrDefault(), progress,
                    settings.placement()));
            head = onLlamaPages(head, file, model);
            ContextParams params = contextParams(file, settings, contextSize, Math.min(contextSize, MAX_BATCH));
            String reason = kvCacheReason(file, settings, contextSize);
            int limit;
            if (settings.contextSize() != 0) {
                context = LlamaContext.create(model, params);
                limit = context.contextSize();
            } else {
                limit = roundUp(contextSize);   // made at the first capture, sized to it
            }
            List<String> notes = new ArrayList<>();
            if (limit != contextSize) {
                notes.add("context size " + contextSize + " became " + limit
                        + " (llama.cpp allocates the context in multiples of 256 tokens)");
            }
            return new ModelSession(file, head, model, context, limit, params, settings, (System.nanoTime() - start) / 1e6,
                    reason, notes, warmup);
        } catch (RuntimeException | Error e) {
            if (warmup != null) warmup.await();   // it reads the file's mapping, which closes below
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
            throw new InvalidInputException("context_size", settings.contextSize(), "exceeds the context of " + trained
                    + " tokens " + file.path().getFileName() + " was trained on (forcing the context allows it)");
        }
        return settings.contextSize();
    }

    /** llama.cpp pads a context to a multiple of 256 tokens; the sized context grows in the same steps. */
    static final int CONTEXT_STEP = 256;
    /** llama.cpp's batch for the session context: the context size, at most 512 tokens. */
    private static final int MAX_BATCH = 512;

    private static int roundUp(int tokens) {
        return Math.max(CONTEXT_STEP, (tokens + CONTEXT_STEP - 1) / CONTEXT_STEP * CONTEXT_STEP);
    }

    /**
     * The session context, holding at least {@code tokens}: when sized to the runs, made (or remade larger) with
     * the tokens rounded up to {@link #CONTEXT_STEP}, at most {@link #contextLimit}; the KV cache type stays the one
     * decided for the maximum. Longer runs are refused by the context itself, with its usual message.
     */
    private LlamaContext contextFor(int tokens) {
        if (!sizedToRuns || (context != null && context.contextSize() >= tokens)) return context;
        int size = Math.min(contextLimit, roundUp(tokens));
        if (context != null && context.contextSize() >= size) return context;
        if (context != null) {
            context.close();
            context = null;
        }
        context = LlamaContext.create(model, new ContextParams(size, Math.min(size, MAX_BATCH), maxParams.threads(),
                maxParams.kvCacheType(), maxParams.flashAttention()));
        return context;
    }

    private static long outputBytes(GgufFile file) {
        return HeadLookup.outputTensor(file).map(GgufTensor::byteSize).orElse(0L);
    }

    /**
     * The head reading its output weight where llama.cpp holds it, when that is host memory in ggml's layout (the
     * CPU backend's view of llama.cpp's mapping of the file: no GPU layer, no repack). The lens then reads the same
     * pages as the forward pass, which are counted once in the resident set instead of twice — once per mapping
     * (Qwen3-8B Q4_K_M's Q6_K output.weight: 487 MiB) — and already faulted in. Otherwise (the weight on a device
     * or repacked) the head keeps reading the file's own mapping. The bytes are checked against the file's first.
     */
    static LensHead onLlamaPages(LensHead head, GgufFile file, LlamaModel model) {
        GgufTensor tensor = HeadLookup.outputTensor(file).orElse(null);
        if (tensor == null) return head;
        return model.hostTensor(tensor.name())
                .filter(host -> host.type() == tensor.type() && sameSampledBytes(host.data(), tensor.data()))
                .map(host -> head.withOutput(LogitProjection.of(new WeightMatrix(tensor.type(), host.data(),
                        Math.toIntExact(tensor.rowCount()), Math.toIntExact(tensor.rowLength())))))
                .orElse(head);
    }

    /** Equal sizes and equal first, middle and last 4 KiB (touching a few pages of the file's mapping, not all). */
    private static boolean sameSampledBytes(MemorySegment a, MemorySegment b) {
        long size = a.byteSize();
        if (size != b.byteSize()) return false;
        long chunk = Math.min(4096, size);
        for (long at : new long[] {0, (size - chunk) / 2, size - chunk}) {
            if (a.asSlice(at, chunk).mismatch(b.asSlice(at, chunk)) != -1) return false;
        }
        return true;
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

    /**
     * The lens head (final norm, output weight, head transform) read from the GGUF; its output weight is read
     * through llama.cpp's pages when llama.cpp keeps them on the CPU ({@link #onLlamaPages}).
     */
    public LensHead head() {
        return head;
    }

    public ProbeSettings settings() {
        return settings;
    }

    public double loadMillis() {
        return loadMillis;
    }

    /**
     * Parameters for another context on this model (e.g. causal tracing's), with the session's KV cache options:
     * the type and flash attention asked for, else the default rule ({@link KvCacheMemory}) for that size.
     */
    public ContextParams contextParams(int contextSize, int batchSize) {
        return contextParams(file, settings, contextSize, batchSize);
    }

    private static ContextParams contextParams(GgufFile file, ProbeSettings settings, int contextSize, int batchSize) {
        KvCacheType type = settings.kvCacheType() != null ? settings.kvCacheType()
                : KvCacheMemory.defaultType(KvCacheMemory.f32Bytes(file, contextSize));
        FlashAttention flash = settings.flashAttention() != null ? settings.flashAttention()
                : type.quantized() ? FlashAttention.ON : FlashAttention.OFF;
        return new ContextParams(contextSize, batchSize, settings.threads(), type, flash);
    }

    /** The session context's KV cache type (K and V), decided at open for the maximum context. */
    public KvCacheType kvCacheType() {
        return maxParams.kvCacheType();
    }

    /** The KV cache and flash attention as the last capture ran them, with the size allocated when sized to the runs. */
    public ProbeReport.KvCache kvCache() {
        LlamaContext ctx = contextFor(1);
        String reason = !sizedToRuns ? kvCacheReason : kvCacheReason + "; allocated for " + ctx.contextSize()
                + " tokens, grown with the prompts up to " + contextLimit;
        return describe(ctx, reason);
    }

    /**
     * As {@link #kvCache()} for another context on this model made with {@link #contextParams} (e.g. causal
     * tracing's), as its last decode ran; {@code requestedSize} is the context size it was asked for.
     */
    public ProbeReport.KvCache kvCache(LlamaContext other, int requestedSize) {
        return describe(other, kvCacheReason(file, settings, requestedSize));
    }

    private static ProbeReport.KvCache describe(LlamaContext context, String reason) {
        boolean used = context.flashAttentionUsed();
        String flash = (context.requestedFlashAttention() == FlashAttention.AUTO ? "auto -> " : "") + (used ? "on" : "off");
        return new ProbeReport.KvCache(context.kvCacheType().llamaName(), flash,
                context.kvCacheType() == KvCacheType.F32 && !used, reason);
    }

    /** Why a context of {@code contextSize} tokens gets its KV cache type: the option, or the default rule with the F32 size. */
    private static String kvCacheReason(GgufFile file, ProbeSettings settings, int contextSize) {
        if (settings.kvCacheType() != null) return "--kv-type " + settings.kvCacheType().llamaName();
        long f32Bytes = KvCacheMemory.f32Bytes(file, contextSize);
        return String.format(Locale.ROOT, "default: the F32 cache for %d tokens is %s, %s the %d MiB limit",
                contextSize, mebibytes(f32Bytes), f32Bytes <= KvCacheMemory.EXACT_LIMIT_BYTES ? "within" : "over",
                KvCacheMemory.EXACT_LIMIT_BYTES >> 20);
    }

    private static String mebibytes(long bytes) {
        return String.format(Locale.ROOT, bytes < (10L << 20) ? "%.2f MiB" : "%.0f MiB", bytes / 1048576.0);
    }

    /** The longest prompt (plus teacher-forced answer) the session accepts. */
    public int contextLimit() {
        return contextLimit;
    }

    /** Tokens the session context holds now: 0 before the first capture when it is sized to the runs. */
    public int contextSize() {
        return context == null ? 0 : context.contextSize();
    }

    /** Tokenises a prompt the way the probe runs it: with the model's BOS etc., special-token text kept literal. */
    public int[] tokenizePrompt(String prompt) {
        int[] tokens = model.tokenize(prompt, true, false);
        if (tokens.length == 0) throw new InvalidInputException("prompt", prompt, "tokenises to nothing");
        if (tokens.length > contextLimit) {
            throw new InvalidInputException("context_size", contextLimit,
                    "is too small: the prompt has " + tokens.length + " tokens, longer than the context size");
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
        if (answer == null || answer.isBlank()) throw new InvalidInputException("expected", answer, "is empty");
        boolean needsSpace = !prompt.isEmpty() && !Character.isWhitespace(prompt.charAt(prompt.length() - 1))
                && !Character.isWhitespace(answer.charAt(0));
        String continuation = needsSpace ? " " + answer : answer;
        int[] full = model.tokenize(prompt + continuation, true, false);
        if (full.length > promptTokens.length
                && Arrays.equals(full, 0, promptTokens.length, promptTokens, 0, promptTokens.length)) {
            return Arrays.copyOfRange(full, promptTokens.length, full.length);
        }
        int[] alone = model.tokenize(continuation, false, false);
        if (alone.length == 0) throw new InvalidInputException("expected", answer, "tokenises to nothing");
        return alone;
    }

    /** The text of a token as reports show it. */
    public String tokenText(int id) {
        return texts.text(id);
    }

    TokenTexts texts() {
        return texts;
    }

    /** Runs {@code tokens} through llama.cpp, keeping what {@code request} asks for; close the capture after use. */
    public Capture capture(int[] tokens, CaptureRequest request) {
        if (WARMUP == Warmup.LOAD) awaitWarmup();
        return contextFor(tokens.length).capture(tokens, request);
    }

    /**
     * When the lens warm-up runs (GGUF_LENS_WARMUP=off|load, default on into the forward pass): it shares the cores
     * with llama.cpp, so these let a user (and a measurement) trade the first forward pass's time against the first
     * lens's. Stopped at the load, it missed the prompt's shape (an all-positions lens) and left most of the JIT to
     * the first lens (Qwen3-8B-shaped, last position: 3.9x and 1.6x the warm lens in two runs at load 3-6).
     */
    enum Warmup { OFF, LOAD, FORWARD }

    private static final Warmup WARMUP = switch (String.valueOf(System.getenv("GGUF_LENS_WARMUP"))) {
        case "off" -> Warmup.OFF;
        case "load" -> Warmup.LOAD;
        default -> Warmup.FORWARD;
    };

    /** As {@link #capture(int[], CaptureRequest)} with {@code interventions} written while it runs (rows = positions). */
    public Capture capture(int[] tokens, CaptureRequest request, List<Intervention> interventions) {
        return contextFor(tokens.length).capture(tokens, request, interventions);
    }

    /** The lens over a capture's layer states, on the session's threads. */
    public LensResult lens(Capture capture, LensRequest request) {
        awaitWarmup();
        return LogitLens.run(head, statesOf(capture), request, settings.threads());
    }

    /**
     * Tells the lens warm-up, if any, the shapes of the coming lenses once the prompt is known (before its forward
     * pass, which the warm-up overlaps), in the order they will run: the first is the lens {@link #lens} is asked
     * for first, and the warm-up stops when it starts.
     */
    public void expectLenses(List<LensWarmup.Expectation> shapes) {
        if (warmup != null) warmup.expect(shapes);
    }

    /** Waits for the lens warm-up, if any, so it does not compete with the lens for the cores. */
    public void awaitWarmup() {
        if (warmup != null) warmup.await();
    }

    /**
     * Times the output-weight product alone as the lens runs it for {@code request} over {@code layers} layers (the
     * same passes, vectors and vocabulary blocks: {@link LogitLens#bareProductNanos}), so --timings can show what
     * the lens's norm and statistics add on top.
     */
    public double bareProductMillis(int layers, LensRequest request) {
        return LogitLens.bareProductNanos(head, layers, request, settings.threads()) / 1e6;
    }

    /** The capture's off-heap states as the lens's input. */
    private static LayerStates statesOf(Capture capture) {
        return LayerStates.ofSegments(capture.layers(), capture.positions(), capture.embeddingLength(), capture::layerState);
    }

    @Override
    public void close() {
        awaitWarmup();   // it reads the file's mapping
        try {
            if (context != null) context.close();
        } finally {
            try {
                model.close();
            } finally {
                file.close();
            }
        }
    }
}
