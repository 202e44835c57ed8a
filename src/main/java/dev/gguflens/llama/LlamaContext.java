package dev.gguflens.llama;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A llama.cpp context (KV cache + compute graph) that runs prompts and records their hidden states.
 * One capture at a time: a second thread calling {@link #capture} meanwhile gets an IllegalStateException.
 */
public final class LlamaContext implements AutoCloseable {
    private final LlamaModel model;
    private final int contextSize;
    private final int batchSize;
    private final ContextParams params;
    private final AtomicBoolean busy = new AtomicBoolean();
    private long handle;

    private LlamaContext(LlamaModel model, long handle, ContextParams params) {
        this.model = model;
        this.params = params;
        this.handle = handle;
        int[] info = Native.contextInfo(handle);
        contextSize = info[0];
        batchSize = info[1];
    }

    public static LlamaContext create(LlamaModel model, ContextParams params) {
        if (model.isVocabOnly()) {
            throw new IllegalArgumentException("model " + model.path() + " was loaded vocabulary-only; it cannot run prompts");
        }
        long h = Native.contextCreate(model.handle(), params.contextSize(), Math.min(params.batchSize(), params.contextSize()),
                params.threads(), params.kvCacheType().ggmlType, params.flashAttention().llamaValue);
        model.contextOpened();
        return new LlamaContext(model, h, params);
    }

    public LlamaModel model() { return model; }
    /** The longest prompt this context accepts (llama.cpp may round the requested size up). */
    public int contextSize() { return contextSize; }
    public int batchSize() { return batchSize; }
    public KvCacheType kvCacheType() { return params.kvCacheType(); }
    public FlashAttention requestedFlashAttention() { return params.flashAttention(); }

    /**
     * Whether the last capture's graph ran attention as llama.cpp's fused flash-attention op: what AUTO resolved
     * to on this device (false before the first capture).
     */
    public boolean flashAttentionUsed() {
        long h = handle;
        if (h == 0) throw new IllegalStateException("context is closed");
        return Native.contextInfo(h)[2] != 0;
    }

    /**
     * Runs {@code tokens} from an empty KV cache and returns what {@code what} asks for, at every position.
     * Prompts longer than the batch size are processed in consecutive chunks.
     */
    public Capture capture(int[] tokens, CaptureRequest what) {
        if (!busy.compareAndSet(false, true)) {
            throw new IllegalStateException("LlamaContext is already capturing on another thread; use one context per thread");
        }
        try {
            long h = handle;
            if (h == 0) throw new IllegalStateException("context is closed");
            validate(tokens);
            return run(h, tokens.clone(), what);
        } finally {
            busy.set(false);
        }
    }

    private void validate(int[] tokens) {
        if (tokens.length == 0) throw new IllegalArgumentException("empty prompt: at least one token is needed");
        if (tokens.length > contextSize) {
            throw new IllegalArgumentException("prompt of " + tokens.length + " tokens is longer than the context size " + contextSize);
        }
        int vocab = model.vocabSize();
        for (int i = 0; i < tokens.length; i++) {
            if (tokens[i] < 0 || tokens[i] >= vocab) {
                throw new IllegalArgumentException("token " + tokens[i] + " at position " + i + " is outside the vocabulary [0, " + vocab + ")");
            }
        }
    }

    private Capture run(long h, int[] tokens, CaptureRequest what) {
        int n = tokens.length;
        int nEmbd = model.embeddingLength();
        int nLayers = model.layerCount() + 1;
        Arena arena = Arena.ofShared();
        try {
            MemorySegment layers = what.layers() ? arena.allocate(ValueLayout.JAVA_FLOAT, (long) nLayers * n * nEmbd) : null;
            MemorySegment norm = what.resultNorm() ? arena.allocate(ValueLayout.JAVA_FLOAT, (long) n * nEmbd) : null;
            MemorySegment logits = what.logits() ? arena.allocate(ValueLayout.JAVA_FLOAT, (long) n * model.vocabSize()) : null;
            List<String> extras = what.extraTensors();
            byte[][] names = new byte[extras.size()][];
            for (int i = 0; i < names.length; i++) names[i] = extras.get(i).getBytes(StandardCharsets.UTF_8);
            Native.capture(h, tokens, address(layers), address(norm), address(logits), names);
            Map<String, Capture.Extra> extraData = new LinkedHashMap<>();
            for (int i = 0; i < names.length; i++) {
                long width = Native.extraWidth(h, i);
                if (width == 0) continue;  // the graph has no tensor by that name
                MemorySegment data = arena.allocate(ValueLayout.JAVA_FLOAT, width * n);
                Native.extraCopy(h, i, data.address());
                extraData.put(extras.get(i), new Capture.Extra((int) width, data));
            }
            return new Capture(arena, tokens, nLayers, nEmbd, model.vocabSize(), layers, norm, logits, extraData);
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    private static long address(MemorySegment segment) {
        return segment == null ? 0 : segment.address();
    }

    @Override
    public void close() {
        if (!busy.compareAndSet(false, true)) {
            throw new IllegalStateException("cannot close a LlamaContext while it is capturing");
        }
        try {
            if (handle == 0) return;
            Native.contextFree(handle);
            handle = 0;
            model.contextClosed();
        } finally {
            busy.set(false);
        }
    }
}
