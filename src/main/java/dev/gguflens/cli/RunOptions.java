package dev.gguflens.cli;

import dev.gguflens.experiment.ProbeSettings;
import dev.gguflens.lens.LensKind;
import dev.gguflens.llama.LlamaBackend;
import dev.gguflens.llama.FlashAttention;
import dev.gguflens.llama.GpuPlacement;
import dev.gguflens.llama.SplitMode;
import dev.gguflens.llama.KvCacheType;
import picocli.CommandLine;
import picocli.CommandLine.Option;

import java.util.List;

/** Options every command that runs a model shares, spelled as llama.cpp spells them where they overlap. */
final class RunOptions {
    @Option(names = "--lens", defaultValue = "norm", paramLabel = "norm|raw|rms", converter = LensKindConverter.class,
            description = "norm: the model's own final norm per layer (default); raw: no norm; rms: RMS scaling without the norm weight.")
    LensKind lens;

    // -1 (all) rather than llama.cpp's 99: only a number the user gave warns when no GPU can take it.
    @Option(names = {"-ngl", "--gpu-layers"}, defaultValue = "-1", paramLabel = "N",
            description = "Layers to offload to a GPU or RPC device (default: all when there is one; 0 = CPU only).")
    int gpuLayers;

    @Option(names = {"-mg", "--main-gpu"}, paramLabel = "N",
            description = {"The device for the whole model with --split-mode none, or for intermediate results and the KV cache",
                "with row (llama.cpp's --main-gpu): an index into the devices that can hold layers, RPC servers first (default: 0)."})
    Integer mainGpu;

    @Option(names = {"-sm", "--split-mode"}, paramLabel = "none|layer|row", converter = SplitModeConverter.class,
            description = {"How layers spread over several devices (llama.cpp's --split-mode): none = the main GPU only,",
                "layer = layers and KV cache split across devices (default), row = weights split by rows (needs split buffers)."})
    SplitMode splitMode;

    @Option(names = "--rpc", split = ",", paramLabel = "HOST:PORT",
            description = "llama.cpp rpc-server(s) to put layers on, comma separated (as llama.cpp's --rpc).")
    List<String> rpcServers = List.of();

    @Option(names = {"-t", "--threads"}, paramLabel = "N", description = "Threads for llama.cpp and the lens (default: all cores).")
    Integer threads;

    @Option(names = {"-c", "--ctx-size"}, paramLabel = "N",
            description = "Context size (default: the model's trained context, at most 2048); above the trained context only with --force-context.")
    Integer contextSize;

    @Option(names = "--force-context", description = "Allow -c above the context the model was trained on.")
    boolean forceContext;

    /** -c as ProbeSettings takes it: 0 for the default (the model's trained context, at most 2048). */
    int contextSize() {
        if (contextSize == null) return 0;
        if (contextSize < 1) throw new dev.gguflens.experiment.InvalidInputException("context_size", contextSize, "must be at least 1");
        return contextSize;
    }

    @Option(names = "--kv-type", paramLabel = "f32|f16|q8_0", converter = KvCacheTypeConverter.class,
            description = {"KV cache type (K and V). Default: f32 (with --flash-attn off: every layer is an exact F32 forward)",
                "when the F32 cache for -c tokens is <= 1 GiB (n_layer x n_ctx x n_head_kv x (head_k + head_v) x 4 B), else f16."})
    KvCacheType kvCacheType;

    @Option(names = {"--flash-attn", "-fa"}, paramLabel = "on|off|auto", converter = FlashAttentionConverter.class,
            description = {"llama.cpp's fused attention (default: off; on for --kv-type q8_0, which needs it). On CPU it",
                "rounds Q, K and V to F16, so intermediate layers are no longer those of an F32 forward."})
    FlashAttention flashAttention;

    @Option(names = "--repack", paramLabel = "on|off", converter = OnOffConverter.class,
            description = {"llama.cpp's CPU weight repacking (extra buffer types): a second, interleaved copy of Q4_0/Q4_K/IQ4_NL",
                "weights in memory for faster CPU matmuls. Default: off (it made an 8B Q4_K_M's short-prompt forward no",
                "faster here, loading 2.8x slower and the peak memory 2.9 GiB larger)."})
    OnOff repackChoice;

    /** --repack as ProbeSettings takes it: null for the default rule. */
    Boolean repack() {
        return repackChoice == null ? null : repackChoice == OnOff.ON;
    }

    enum OnOff { ON, OFF }

    /** --main-gpu and --split-mode; the devices are checked when the model loads (ModelSession). */
    GpuPlacement placement() {
        if (mainGpu != null && mainGpu < 0) {
            throw new UsageException("--main-gpu " + mainGpu + ": must be 0 or more (an index into the GPU and RPC devices;"
                    + " -ngl 0 keeps the model on the CPU)");
        }
        return new GpuPlacement(mainGpu, splitMode);
    }

    /** Registers the --rpc servers with llama.cpp; call before loading a model. */
    void connectRpcServers() {
        for (String server : rpcServers) {
            try {
                LlamaBackend.addRpcServer(server.trim());
            } catch (IllegalArgumentException e) {
                throw new UsageException("--rpc: " + e.getMessage());
            }
        }
    }

    /**
     * The settings every command that runs a model starts from (probe and compare add their own fields with
     * {@code with...}): the one place the run options become {@link ProbeSettings}, so an option added here reaches
     * every command and none can be accepted and then ignored. Last position only, no temperature sweep.
     */
    ProbeSettings sessionSettings(int topK) {
        return sessionSettings(topK, null);
    }

    /** As {@link #sessionSettings(int)} with an answer mode (null: first). */
    ProbeSettings sessionSettings(int topK, dev.gguflens.experiment.AnswerMode answerMode) {
        return new ProbeSettings(lens, topK, false, gpuLayers, threadCount(), contextSize(), List.of(),
                kvCacheType, flashAttention, answerMode, forceContext, placement(), repack());
    }

    int threadCount() {
        return threads != null ? threads : Runtime.getRuntime().availableProcessors();
    }

    /** f32/f16/q8_0 in any case. */
    static final class KvCacheTypeConverter implements CommandLine.ITypeConverter<KvCacheType> {
        @Override
        public KvCacheType convert(String value) {
            for (KvCacheType k : KvCacheType.values()) if (k.llamaName().equalsIgnoreCase(value)) return k;
            throw new CommandLine.TypeConversionException("unknown KV cache type '" + value + "' (choose f32, f16 or q8_0)");
        }
    }

    /** none/layer/row in any case. */
    static final class SplitModeConverter implements CommandLine.ITypeConverter<SplitMode> {
        @Override
        public SplitMode convert(String value) {
            for (SplitMode m : SplitMode.values()) if (m.llamaName().equalsIgnoreCase(value)) return m;
            throw new CommandLine.TypeConversionException("unknown --split-mode '" + value + "' (choose none, layer or row)");
        }
    }

    /** on/off/auto in any case. */
    static final class FlashAttentionConverter implements CommandLine.ITypeConverter<FlashAttention> {
        @Override
        public FlashAttention convert(String value) {
            for (FlashAttention f : FlashAttention.values()) if (f.llamaName().equalsIgnoreCase(value)) return f;
            throw new CommandLine.TypeConversionException("unknown --flash-attn '" + value + "' (choose on, off or auto)");
        }
    }

    /** on/off in any case. */
    static final class OnOffConverter implements CommandLine.ITypeConverter<OnOff> {
        @Override
        public OnOff convert(String value) {
            if (value.equalsIgnoreCase("on")) return OnOff.ON;
            if (value.equalsIgnoreCase("off")) return OnOff.OFF;
            throw new CommandLine.TypeConversionException("'" + value + "' is neither on nor off");
        }
    }

    /** Accepts norm/raw/rms in any case; anything else is a usage error listing the choices. */
    static final class LensKindConverter implements CommandLine.ITypeConverter<LensKind> {
        @Override
        public LensKind convert(String value) {
            for (LensKind k : LensKind.values()) if (k.name().equalsIgnoreCase(value)) return k;
            throw new CommandLine.TypeConversionException("unknown lens '" + value + "' (choose norm, raw or rms)");
        }
    }
}
