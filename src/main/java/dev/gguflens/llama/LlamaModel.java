package dev.gguflens.llama;

import dev.gguflens.gguf.GgmlType;
import dev.gguflens.gguf.GgufException;
import dev.gguflens.gguf.GgufFile;
import dev.gguflens.gguf.ModelCompatibility;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A model loaded by llama.cpp. The file is first opened by the Java GGUF reader, so a malformed file fails
 * with a {@link GgufException} naming what is wrong before llama.cpp ever reads it.
 * Tokenizer methods are thread-safe; close it after every {@link LlamaContext} made from it.
 */
public final class LlamaModel implements AutoCloseable {
    private final Path path;
    private final boolean vocabOnly;
    private final String architecture;
    private final int layerCount, embeddingLength, vocabSize, trainedContextLength, bos, eos;
    private final Offload offload;
    private final AtomicInteger openContexts = new AtomicInteger();
    /** Scope of the views {@link #hostTensor} hands out: closed before the model is freed, so a late read fails cleanly. */
    private final Arena hostViews = Arena.ofShared();
    private volatile long handle;

    private LlamaModel(Path path, long handle, boolean vocabOnly, List<BackendDevice> devices, ModelParams params) {
        this.path = path;
        this.handle = handle;
        this.vocabOnly = vocabOnly;
        int[] info = Native.modelInfo(handle);
        layerCount = info[0];
        embeddingLength = info[1];
        vocabSize = info[2];
        trainedContextLength = info[3];
        bos = info[4];
        eos = info[5];
        byte[] arch = Native.modelMeta(handle, "general.architecture".getBytes(StandardCharsets.UTF_8));
        architecture = arch == null ? "" : new String(arch, StandardCharsets.UTF_8);
        offload = Offload.of(devices, params.gpuLayers(), layerCount, params.placement());
    }

    public static LlamaModel load(Path gguf, ModelParams params) throws LlamaException, GgufException {
        return open(gguf, params, false);
    }

    /** Loads only the tokenizer (no weights): tokenize, tokenPiece and tokenText work, contexts do not. */
    public static LlamaModel loadVocabOnly(Path gguf) throws LlamaException, GgufException {
        return open(gguf, ModelParams.defaults(), true);
    }

    private static LlamaModel open(Path gguf, ModelParams params, boolean vocabOnly) {
        Path file = gguf.toAbsolutePath();
        // Java validation first: llama.cpp's own checks are less thorough, and some failures abort there.
        try (GgufFile checked = GgufFile.open(file)) {
            if (vocabOnly) ModelCompatibility.checkForTokenizer(checked);
            else ModelCompatibility.checkForInference(checked);
        }
        LlamaBackend.init();
        List<BackendDevice> devices = vocabOnly ? List.of() : offloadDevices(params.gpuLayers());
        GpuPlacement.Problem problem = params.placement().problem(devices);
        if (problem != null) throw new IllegalArgumentException(problem.toString());
        // A server that went away since it was added would make ggml's RPC client abort the process: ask first.
        params.placement().devicesUsed(devices).stream().filter(BackendDevice::isRpc).map(BackendDevice::description).distinct()
                .forEach(LlamaBackend::checkRpcServer);
        int[] indices = devices.stream().mapToInt(BackendDevice::index).toArray();
        GpuPlacement placement = params.placement();
        long handle = Native.modelLoad(file.toString().getBytes(StandardCharsets.UTF_8), params.gpuLayers(),
                params.useMmap(), params.repack(), vocabOnly, params.progress(), indices, placement.mainGpuOrDefault(),
                placement.splitModeOrDefault().llamaValue());
        return new LlamaModel(file, handle, vocabOnly, devices, params);
    }

    /**
     * The devices a model loaded with this -ngl may put layers on, in llama.cpp's order (RPC servers first, then
     * GPUs): none for -ngl 0, which means the CPU alone (llama.cpp would otherwise still send large batches to a
     * GPU: op offload). --main-gpu indexes this list.
     */
    public static List<BackendDevice> offloadDevices(int gpuLayers) {
        return gpuLayers == 0 ? List.of() : LlamaBackend.offloadDevices();
    }

    public Path path() { return path; }
    public boolean isVocabOnly() { return vocabOnly; }
    /** general.architecture, e.g. "llama", "qwen3", "gemma2". */
    public String architecture() { return architecture; }
    public int layerCount() { return layerCount; }
    public int embeddingLength() { return embeddingLength; }
    public int vocabSize() { return vocabSize; }
    public int trainedContextLength() { return trainedContextLength; }
    /** -1 when the vocabulary has none. */
    public int bosToken() { return bos; }
    /** -1 when the vocabulary has none. */
    public int eosToken() { return eos; }
    /** The devices the layers went to and how many. */
    public Offload offload() { return offload; }

    public int[] tokenize(String text, boolean addSpecial, boolean parseSpecial) {
        return Native.tokenize(handle(), text.getBytes(StandardCharsets.UTF_8), addSpecial, parseSpecial);
    }

    /** The exact bytes llama.cpp renders for the token (special tokens included); a partial UTF-8 sequence stays partial. */
    public byte[] tokenPiece(int token) {
        return Native.tokenPiece(handle(), checkToken(token));
    }

    /** The vocabulary entry as stored, e.g. "▁Lily" or "Ġhello". */
    public String tokenText(int token) {
        byte[] text = Native.tokenText(handle(), checkToken(token));
        return text == null ? "" : new String(text, StandardCharsets.UTF_8);
    }

    public Optional<String> chatTemplate() {
        byte[] t = Native.chatTemplate(handle());
        return t == null ? Optional.empty() : Optional.of(new String(t, StandardCharsets.UTF_8));
    }

    /** A metadata value as llama.cpp prints it, when present. */
    public Optional<String> metadata(String key) {
        byte[] v = Native.modelMeta(handle(), key.getBytes(StandardCharsets.UTF_8));
        return v == null ? Optional.empty() : Optional.of(new String(v, StandardCharsets.UTF_8));
    }

    /**
     * A weight's bytes where llama.cpp holds them in host memory in ggml's own layout — on the CPU backend with
     * the file memory-mapped, its mapping of the file — readable until this model closes. Empty when the tensor is
     * absent, on a GPU or RPC device, or repacked. Reading a weight here rather than through another mapping of the
     * file keeps its pages counted once in the process's resident set.
     */
    public Optional<HostTensor> hostTensor(String name) {
        long[] info = Native.modelTensorHost(handle(), name.getBytes(StandardCharsets.UTF_8));
        if (info == null) return Optional.empty();
        return Optional.of(new HostTensor(GgmlType.byId(info[2]), MemorySegment.ofAddress(info[0]).reinterpret(info[1], hostViews, null)));
    }

    /** A weight tensor's type and its bytes in llama.cpp's host memory (see {@link #hostTensor}). */
    public record HostTensor(GgmlType type, MemorySegment data) {}

    private int checkToken(int token) {
        if (token < 0 || token >= vocabSize) {
            throw new IllegalArgumentException("token " + token + " is outside the vocabulary [0, " + vocabSize + ") of " + path);
        }
        return token;
    }

    long handle() {
        long h = handle;
        if (h == 0) throw new IllegalStateException("model " + path + " is closed");
        return h;
    }

    void contextOpened() { openContexts.incrementAndGet(); }
    void contextClosed() { openContexts.decrementAndGet(); }

    @Override
    public synchronized void close() {
        if (handle == 0) return;
        if (openContexts.get() > 0) {
            throw new IllegalStateException("model " + path + " still has " + openContexts.get() + " open context(s); close them first");
        }
        hostViews.close();
        Native.modelFree(handle);
        handle = 0;
    }

    @Override
    public String toString() {
        return "LlamaModel[" + architecture + ", " + layerCount + " layers, n_embd " + embeddingLength + ", " + path.getFileName() + "]";
    }
}
