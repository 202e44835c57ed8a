package dev.gguflens.experiment;

import dev.gguflens.gguf.GgufFile;
import dev.gguflens.lens.HeadLookup;
import dev.gguflens.lens.LensHead;
import dev.gguflens.lens.LensKind;
import dev.gguflens.lens.ReferenceLens;
import dev.gguflens.llama.Capture;
import dev.gguflens.llama.CaptureRequest;
import dev.gguflens.llama.ContextParams;
import dev.gguflens.llama.FlashAttention;
import dev.gguflens.llama.KvCacheType;
import dev.gguflens.llama.LlamaContext;
import dev.gguflens.llama.LlamaModel;
import dev.gguflens.llama.ModelParams;
import dev.gguflens.testmodels.ReferenceForward;
import dev.gguflens.testmodels.RandomModels;
import dev.gguflens.testmodels.RandomModels.Arch;
import dev.gguflens.testmodels.RandomModels.Spec;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

import static dev.gguflens.testmodels.Fixtures.stories260K;
import static dev.gguflens.testmodels.Fixtures.requireNative;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Intermediate layers against an independent double-precision forward pass ({@link ReferenceForward}) of random
 * F32 qwen3, llama and gemma2 models (two shapes and seeds each), at every layer and position, for every lens:
 * with the default (exact) KV cache the lens probabilities agree to 1e-5 (gemma2: see {@link Bounds}); with
 * llama.cpp's F16 cache (flash attention off, and llama.cpp's own default F16 + flash attention auto) they differ
 * by a measured amount, bounded here per architecture.
 */
class ExactLayersTest {
    static final String PROMPT = "Once upon a time, there was a little girl named Lily. She lived in a small house";
    static final double EXACT_TOLERANCE = 1e-5;

    /**
     * Per architecture, from the runs below: max over layers, positions, the three lenses (the raw lens moves most)
     * and both shapes, full vocabulary of 512 tokens, a 27-token prompt; this machine's CPU backend (AMD EPYC, AVX2):
     * <pre>
     * arch    exact: max |dp|, |dH| nats   F16, fa off: max |dp|, |dH|   F16, fa auto (on): max |dp|, |dH|
     * qwen3   1.1e-7, 5.3e-7               1.2e-4, 5.8e-4                1.7e-4, 6.8e-4
     * llama   1.2e-7, 6.7e-7               1.3e-4, 5.0e-4                2.1e-4, 1.2e-3
     * gemma2  5.9e-6, 5.9e-6               9.9e-6, 1.2e-5                1.9e-5, 2.0e-5
     * </pre>
     * Gemma-2's exact setting is not float32 throughout: ggml's CPU GELU rounds its input and output to F16 through
     * a lookup table. With that table modelled in the reference the exact difference falls to 2.6e-7 (see
     * {@link #GELU_TABLE_TOLERANCE}). The F16 cache moves these gemma2 models' lens less than the others' (not
     * investigated further), so F16 is only required to exceed 1.3 times the GELU floor there.
     *
     * @param exactMaxDp the exact setting's bound
     * @param f16MinRatio F16's worst |dp| must exceed this multiple of the exact setting's worst
     * @param f16MaxDp   F16's bound on |dp| (about five times the largest measured)
     * @param f16MaxDh   F16's bound on |d entropy| in nats
     */
    record Bounds(double exactMaxDp, double f16MinRatio, double f16MaxDp, double f16MaxDh) {}

    static final Map<Arch, Bounds> BOUNDS = Map.of(
            Arch.QWEN3, new Bounds(EXACT_TOLERANCE, 40, 1e-3, 4e-3),
            Arch.LLAMA, new Bounds(EXACT_TOLERANCE, 40, 1e-3, 6e-3),
            Arch.GEMMA2, new Bounds(EXACT_TOLERANCE, 1.3, 1e-4, 1e-4));

    /** Gemma-2's exact setting against the reference with ggml's F16 GELU table modelled (measured up to 2.6e-7). */
    static final double GELU_TABLE_TOLERANCE = 1.5e-6;

    @TempDir static Path dir;

    @BeforeAll
    static void setUp() {
        requireNative();
    }

    /** Max |p_tool - p_reference| over the whole vocabulary and |entropy_tool - entropy_reference| per lens. */
    record Difference(double maxDp, double maxDEntropy) {
        Difference max(Difference o) {
            return new Difference(Math.max(maxDp, o.maxDp), Math.max(maxDEntropy, o.maxDEntropy));
        }
    }

    record Setting(String name, KvCacheType kv, FlashAttention flash) {}

    /** Two shapes and seeds per architecture: 3 blocks x 64 wide (GQA 4:2), 2 blocks x 96 wide (6 heads, 3 KV heads). */
    static Stream<Spec> models() {
        return Stream.of(Arch.QWEN3, Arch.LLAMA, Arch.GEMMA2).flatMap(a -> Stream.of(
                new Spec(a, 3, 64, 128, 4, 2, 16, a == Arch.GEMMA2, 23),
                new Spec(a, 2, 96, 192, 6, 3, 16, a == Arch.GEMMA2, 5)));
    }

    @ParameterizedTest
    @MethodSource("models")
    void exactCacheMatchesADoubleForwardAndF16DiffersByAMeasuredAmount(Spec spec) {
        // stories260K's 512-token vocabulary keeps the full-vocabulary double lens cheap (qwen3's own 151936 tokens
        // took minutes per model here) and tokenises the prompt into ~60 tokens, so attention spans many positions.
        Path model = RandomModels.writeWithVocabulary(spec, stories260K(),
                dir.resolve(spec.arch().name + "-" + spec.embedding() + "-" + spec.seed() + ".gguf"));
        List<Setting> settings = List.of(new Setting("exact (default)", null, null),
                new Setting("f16, flash-attn off", KvCacheType.F16, FlashAttention.OFF),
                new Setting("f16, flash-attn auto (llama.cpp default)", KvCacheType.F16, FlashAttention.AUTO));
        Map<Setting, Map<LensKind, Difference>> table = new LinkedHashMap<>();
        int[] tokenCount = {0};
        try (GgufFile file = GgufFile.open(model)) {
            ReferenceLens lens = new ReferenceLens(HeadLookup.fromGguf(file));
            Map<Setting, Map<LensKind, ProbeReport>> reports = new LinkedHashMap<>();
            for (Setting s : settings) {
                Map<LensKind, ProbeReport> perLens = new EnumMap<>(LensKind.class);
                for (LensKind kind : LensKind.values()) {
                    ProbeSettings ps = new ProbeSettings(kind, 5, true, 0, 2, 256, List.of(), s.kv(), s.flash(), AnswerMode.FIRST);
                    try (ModelSession session = ModelSession.open(model, ps, null)) {
                        perLens.put(kind, Probe.report(session, new PromptSpec(PROMPT), List.of(), false));
                    }
                    assertEquals(s.kv() == null, perLens.get(kind).kvCache().exact(), s.name() + ": " + perLens.get(kind).kvCache());
                }
                reports.put(s, perLens);
            }
            int[] tokens = reports.values().iterator().next().get(LensKind.NORM).tokens().stream()
                    .mapToInt(ProbeReport.TokenInfo::id).toArray();
            assertTrue(tokens.length >= 15, "a prompt long enough for attention to matter");
            tokenCount[0] = tokens.length;
            double[][][] reference = new ReferenceForward(file).run(tokens);
            Map<Setting, float[][][]> states = new LinkedHashMap<>();
            for (Setting s : settings) states.put(s, capture(model, tokens, s));
            for (Setting s : settings) table.put(s, new EnumMap<>(LensKind.class));
            for (LensKind kind : LensKind.values()) {
                double[][][] expected = logProbs(lens, kind, reference);
                for (Setting s : settings) {
                    table.get(s).put(kind, compare(lens, kind, expected, states.get(s), reports.get(s).get(kind)));
                }
            }
            if (spec.arch() == Arch.GEMMA2) {
                double[][][] withTable = new ReferenceForward(file, true).run(tokens);
                Setting exact = settings.getFirst();
                for (LensKind kind : LensKind.values()) {
                    Difference d = compare(lens, kind, logProbs(lens, kind, withTable), states.get(exact), reports.get(exact).get(kind));
                    System.out.printf(Locale.ROOT, "gemma2 exact vs the reference with ggml's F16 GELU table, %s lens: max |dp| %.3g%n",
                            kind.name().toLowerCase(Locale.ROOT), d.maxDp());
                    assertTrue(d.maxDp() <= GELU_TABLE_TOLERANCE, "the GELU table explains gemma2's exact floor: " + d.maxDp());
                }
            }
        }
        System.out.printf(Locale.ROOT, "%s (%d blocks, %d wide, seed %d, %d tokens): lens probabilities against the double-precision"
                + " forward (max over layers and positions):%n", spec.arch().name, spec.blocks(), spec.embedding(), spec.seed(),
                tokenCount[0]);
        System.out.printf(Locale.ROOT, "%-42s %-5s %12s %14s%n", "KV cache", "lens", "max |dp|", "max |dH| nats");
        table.forEach((s, perLens) -> perLens.forEach((kind, d) -> System.out.printf(Locale.ROOT,
                "%-42s %-5s %12.3g %14.3g%n", s.name(), kind.name().toLowerCase(Locale.ROOT), d.maxDp(), d.maxDEntropy())));

        Bounds bounds = BOUNDS.get(spec.arch());
        for (var e : table.entrySet()) {
            Setting s = e.getKey();
            Difference worst = e.getValue().values().stream().reduce(new Difference(0, 0), Difference::max);
            if (s.kv() == null) {
                e.getValue().forEach((kind, d) -> assertTrue(d.maxDp() <= bounds.exactMaxDp(),
                        "exact cache, " + kind + " lens: max |dp| " + d.maxDp()));
                assertTrue(worst.maxDEntropy() <= 1e-4, "exact cache: entropy off by " + worst.maxDEntropy());
            } else {
                double exactWorst = table.get(settings.getFirst()).values().stream().mapToDouble(Difference::maxDp).max().orElseThrow();
                assertTrue(worst.maxDp() > bounds.f16MinRatio() * exactWorst, s.name() + " should visibly round: max |dp| "
                        + worst.maxDp() + " vs exact " + exactWorst);
                assertTrue(worst.maxDp() < bounds.f16MaxDp(), s.name() + ": max |dp| " + worst.maxDp());
                assertTrue(worst.maxDEntropy() < bounds.f16MaxDh(), s.name() + ": max |dH| " + worst.maxDEntropy());
            }
        }
    }

    /** The reference states through the double lens: log-probabilities [layer][position][token]. */
    static double[][][] logProbs(ReferenceLens lens, LensKind kind, double[][][] reference) {
        double[][][] out = new double[reference.length][reference[0].length][];
        for (int l = 0; l < reference.length; l++) {
            for (int p = 0; p < reference[l].length; p++) out[l][p] = ReferenceLens.logSoftmax(lens.logits(kind, reference[l][p]));
        }
        return out;
    }

    /** Every layer's state at every position, captured with the setting's cache as the probe resolves it. */
    static float[][][] capture(Path model, int[] tokens, Setting s) {
        KvCacheType kv = s.kv() == null ? KvCacheType.F32 : s.kv();
        FlashAttention flash = s.flash() == null ? FlashAttention.OFF : s.flash();
        try (LlamaModel m = LlamaModel.load(model, ModelParams.defaults());
             LlamaContext ctx = LlamaContext.create(m, new ContextParams(256, 256, 2, kv, flash));
             Capture capture = ctx.capture(tokens, new CaptureRequest(true, false, false, List.of()))) {
            if (s.flash() == FlashAttention.AUTO) assertTrue(ctx.flashAttentionUsed(), "auto resolves to flash attention on CPU");
            else assertFalse(ctx.flashAttentionUsed());
            float[][][] out = new float[capture.layers()][tokens.length][];
            for (int l = 0; l < capture.layers(); l++) for (int p = 0; p < tokens.length; p++) out[l][p] = capture.layerStateArray(l, p);
            return out;
        }
    }

    /**
     * The captured states through the double reference lens against the double forward's states (whole
     * vocabulary), and the tool's own report (its top-k probabilities and entropy) against the same.
     */
    static Difference compare(ReferenceLens lens, LensKind kind, double[][][] expectedLogProbs, float[][][] states, ProbeReport report) {
        double maxDp = 0, maxDh = 0;
        for (ProbeReport.PositionEntry position : report.positions()) {
            int p = position.pos();
            for (ProbeReport.LayerEntry layer : position.layers()) {
                int l = layer.layer();
                double[] expected = expectedLogProbs[l][p];
                double[] actual = ReferenceLens.logSoftmax(lens.logits(kind, states[l][p]));
                for (int i = 0; i < expected.length; i++) maxDp = Math.max(maxDp, Math.abs(Math.exp(actual[i]) - Math.exp(expected[i])));
                for (ProbeReport.TopToken t : layer.top()) maxDp = Math.max(maxDp, Math.abs(t.p() - Math.exp(expected[t.id()])));
                double h = 0;
                for (double lp : expected) h -= Math.exp(lp) * lp;
                maxDh = Math.max(maxDh, Math.abs(layer.entropyNats() - h));
            }
        }
        return new Difference(maxDp, maxDh);
    }
}
