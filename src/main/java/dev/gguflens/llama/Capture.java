package dev.gguflens.llama;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The hidden states of one prompt, off-heap. Layer 0 is the residual stream entering block 0 (the token
 * embedding, after any architecture-specific scaling such as gemma's sqrt(n_embd)); layer i is the output
 * of block i-1. The returned segments are read-only views that die with {@link #close()}.
 */
public final class Capture implements AutoCloseable {
    record Extra(int width, MemorySegment data) {}

    private final Arena arena;
    private final int[] tokens;
    private final int layers, embeddingLength, vocabSize;
    private final MemorySegment layerStates, resultNorm, logits;
    private final Map<String, Extra> extras;

    Capture(Arena arena, int[] tokens, int layers, int embeddingLength, int vocabSize,
            MemorySegment layerStates, MemorySegment resultNorm, MemorySegment logits, Map<String, Extra> extras) {
        this.arena = arena;
        this.tokens = tokens;
        this.layers = layers;
        this.embeddingLength = embeddingLength;
        this.vocabSize = vocabSize;
        this.layerStates = layerStates;
        this.resultNorm = resultNorm;
        this.logits = logits;
        this.extras = Map.copyOf(extras);
    }

    public int positions() { return tokens.length; }
    /** n_layer + 1. */
    public int layers() { return layers; }
    public int embeddingLength() { return embeddingLength; }
    public int vocabSize() { return vocabSize; }
    public int[] tokens() { return tokens.clone(); }

    /** n_embd floats: layer 0 = embedding output, layer i = output of block i-1. */
    public MemorySegment layerState(int layer, int position) {
        require(layerStates, "layers");
        checkIndex(layer, layers, "layer");
        checkIndex(position, tokens.length, "position");
        long offset = ((long) layer * tokens.length + position) * embeddingLength;
        return slice(layerStates, offset, embeddingLength);
    }

    /** Every position of one layer: {@code [positions][n_embd]} floats. */
    public MemorySegment layerStates(int layer) {
        require(layerStates, "layers");
        checkIndex(layer, layers, "layer");
        return slice(layerStates, (long) layer * tokens.length * embeddingLength, (long) tokens.length * embeddingLength);
    }

    public float[] layerStateArray(int layer, int position) {
        return layerState(layer, position).toArray(ValueLayout.JAVA_FLOAT);
    }

    /** llama.cpp's own final normalised state (input of the output projection), n_embd floats. */
    public MemorySegment resultNorm(int position) {
        require(resultNorm, "resultNorm");
        checkIndex(position, tokens.length, "position");
        return slice(resultNorm, (long) position * embeddingLength, embeddingLength);
    }

    public float[] resultNormArray(int position) {
        return resultNorm(position).toArray(ValueLayout.JAVA_FLOAT);
    }

    /** llama.cpp's logits, n_vocab floats (after any final soft-capping). */
    public MemorySegment logits(int position) {
        require(logits, "logits");
        checkIndex(position, tokens.length, "position");
        return slice(logits, (long) position * vocabSize, vocabSize);
    }

    public float[] logitsArray(int position) {
        return logits(position).toArray(ValueLayout.JAVA_FLOAT);
    }

    /** A requested extra tensor at a position; empty when the graph had no tensor by that name. */
    public Optional<MemorySegment> extra(String name, int position) {
        Extra e = extras.get(name);
        if (e == null) return Optional.empty();
        checkIndex(position, tokens.length, "position");
        return Optional.of(slice(e.data(), (long) position * e.width(), e.width()));
    }

    /** Every position of a requested extra tensor, {@code [positions][width]} floats; empty when not found. */
    public Optional<MemorySegment> extra(String name) {
        Extra e = extras.get(name);
        return e == null ? Optional.empty() : Optional.of(slice(e.data(), 0, (long) tokens.length * e.width()));
    }

    /** Floats per position of a requested extra tensor, 0 when not found. */
    public int extraWidth(String name) {
        Extra e = extras.get(name);
        return e == null ? 0 : e.width();
    }

    /** Names of the extra tensors that were found. */
    public Set<String> extraNames() {
        return extras.keySet();
    }

    private static MemorySegment slice(MemorySegment all, long floatOffset, long floatCount) {
        return all.asSlice(floatOffset * Float.BYTES, floatCount * Float.BYTES).asReadOnly();
    }

    private static void require(MemorySegment segment, String what) {
        if (segment == null) throw new IllegalStateException("this capture did not record " + what + " (see CaptureRequest)");
    }

    private static void checkIndex(int index, int size, String what) {
        if (index < 0 || index >= size) throw new IndexOutOfBoundsException(what + " " + index + " is outside [0, " + size + ")");
    }

    @Override
    public void close() {
        if (arena.scope().isAlive()) arena.close();
    }
}
