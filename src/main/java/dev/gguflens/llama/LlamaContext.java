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
    private final int sequences;
    private final ContextParams params;
    private final AtomicBoolean busy = new AtomicBoolean();
    private long handle;

    private LlamaContext(LlamaModel model, long handle, int sequences, ContextParams params) {
        this.model = model;
        this.params = params;
        this.handle = handle;
        this.sequences = sequences;
        int[] info = Native.contextInfo(handle);
        contextSize = info[0];
        batchSize = info[1];
    }

    public static LlamaContext create(LlamaModel model, ContextParams params) {
        return create(model, params, 1);
    }

    /** Most parallel sequences a context holds (llama.cpp's LLAMA_MAX_SEQ). */
    public static final int MAX_SEQUENCES = 256;

    /**
     * A context whose KV cache holds {@code sequences} parallel sequences (ids 0..sequences-1) for
     * {@link #decode}; above 1 the cache is unified, so {@link #copySequence} shares cells instead of copying.
     */
    public static LlamaContext create(LlamaModel model, ContextParams params, int sequences) {
        if (model.isVocabOnly()) {
            throw new IllegalArgumentException("model " + model.path() + " was loaded vocabulary-only; it cannot run prompts");
        }
        int batch = Math.min(params.batchSize(), params.contextSize());
        // llama.cpp reserves an output row per sequence within the batch's outputs (and asserts on it).
        if (sequences < 1 || sequences > Math.min(MAX_SEQUENCES, batch)) {
            throw new IllegalArgumentException("sequences must be in [1, " + Math.min(MAX_SEQUENCES, batch)
                    + "] (at most " + MAX_SEQUENCES + " and the batch size), got " + sequences);
        }
        long h = Native.contextCreate(model.handle(), params.contextSize(), batch, params.threads(), sequences,
                params.kvCacheType().ggmlType, params.flashAttention().llamaValue);
        model.contextOpened();
        return new LlamaContext(model, h, sequences, params);
    }

    public LlamaModel model() { return model; }
    /** The longest prompt this context accepts (llama.cpp may round the requested size up). */
    public int contextSize() { return contextSize; }
    public int batchSize() { return batchSize; }
    public int sequences() { return sequences; }
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
        return capture(tokens, what, List.of());
    }

    /**
     * As {@link #capture(int[], CaptureRequest)}, with {@code interventions} applied while it runs (their rows are
     * prompt positions); a captured tensor that is also intervened on records the written values. Afterwards the
     * KV cache holds the prompt as sequence 0, which {@link #copySequence} and {@link #decode} can build on.
     */
    public Capture capture(int[] tokens, CaptureRequest what, List<Intervention> interventions) {
        if (!busy.compareAndSet(false, true)) {
            throw new IllegalStateException("LlamaContext is already capturing on another thread; use one context per thread");
        }
        try {
            long h = handle;
            if (h == 0) throw new IllegalStateException("context is closed");
            validate(tokens);
            checkRows(interventions, tokens.length);
            setInterventions(h, interventions);
            try {
                return run(h, tokens.clone(), what);
            } finally {
                if (!interventions.isEmpty()) Native.interventionsClear(h);
            }
        } finally {
            busy.set(false);
        }
    }

    /**
     * One forward pass of a batch of tokens on top of the KV cache as it stands (what earlier captures and decodes
     * left there), with {@code interventions} applied (their rows are batch rows). Writes the logits of
     * {@code batch.outputRows()} to {@code logits}, {@code [outputs][n_vocab]} floats.
     */
    public void decode(DecodeBatch batch, List<Intervention> interventions, MemorySegment logits) {
        if (!busy.compareAndSet(false, true)) {
            throw new IllegalStateException("LlamaContext is already running on another thread; use one context per thread");
        }
        try {
            long h = handle;
            if (h == 0) throw new IllegalStateException("context is closed");
            int n = batch.size();
            if (n > batchSize) throw new IllegalArgumentException("batch of " + n + " tokens exceeds the batch size " + batchSize);
            int vocab = model.vocabSize();
            int[] tokens = batch.tokens(), positions = batch.positions(), sequenceIds = batch.sequences();
            for (int i = 0; i < n; i++) {
                int token = tokens[i];
                if (token < 0 || token >= vocab) {
                    throw new IllegalArgumentException("token " + token + " at row " + i + " is outside the vocabulary [0, " + vocab + ")");
                }
                if (positions[i] >= contextSize) {
                    throw new IllegalArgumentException("position " + positions[i] + " is beyond the context size " + contextSize);
                }
                checkSequence(sequenceIds[i]);
            }
            long needed = (long) batch.outputRows().length * vocab * Float.BYTES;
            if (logits.byteSize() < needed) {
                throw new IllegalArgumentException("logits segment holds " + logits.byteSize() + " bytes, " + needed + " needed");
            }
            checkRows(interventions, n);
            setInterventions(h, interventions);
            try {
                Native.decode(h, tokens, positions, sequenceIds, batch.outputRows(), logits.address());
            } finally {
                if (!interventions.isEmpty()) Native.interventionsClear(h);
            }
        } finally {
            busy.set(false);
        }
    }

    /** Sequence {@code destination} gets {@code source}'s KV cache at positions [from, to). */
    public void copySequence(int source, int destination, int from, int to) {
        checkSequence(source);
        checkSequence(destination);
        if (from < 0 || to < from) throw new IllegalArgumentException("bad position range [" + from + ", " + to + ")");
        Native.sequenceCopy(openHandle(), source, destination, from, to);
    }

    /** Drops a sequence from the KV cache. */
    public void removeSequence(int sequence) {
        checkSequence(sequence);
        Native.sequenceRemove(openHandle(), sequence);
    }

    private long openHandle() {
        long h = handle;
        if (h == 0) throw new IllegalStateException("context is closed");
        return h;
    }

    private void checkSequence(int sequence) {
        if (sequence < 0 || sequence >= sequences) {
            throw new IllegalArgumentException("sequence " + sequence + " is outside [0, " + sequences + ") of this context");
        }
    }

    private static void checkRows(List<Intervention> interventions, int rows) {
        for (Intervention iv : interventions) {
            if (iv.maxRow() >= rows) {
                throw new IllegalArgumentException(iv + " writes row " + iv.maxRow() + " of a call with " + rows + " tokens");
            }
        }
    }

    private static void setInterventions(long h, List<Intervention> interventions) {
        if (interventions.isEmpty()) return;
        int n = interventions.size();
        byte[][] names = new byte[n][];
        boolean[] add = new boolean[n];
        int[][] rows = new int[n][];
        int[][] columns = new int[n][];
        long[] values = new long[n];
        long[] widths = new long[n];
        boolean[] broadcast = new boolean[n];
        for (int i = 0; i < n; i++) {
            Intervention iv = interventions.get(i);
            names[i] = iv.tensor().getBytes(StandardCharsets.UTF_8);
            add[i] = iv.add();
            rows[i] = iv.rows();
            columns[i] = iv.columns();
            values[i] = iv.values().address();
            widths[i] = iv.width();
            broadcast[i] = iv.broadcast();
        }
        Native.interventionsSet(h, names, add, rows, columns, values, widths, broadcast);
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
