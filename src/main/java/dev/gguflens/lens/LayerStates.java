package dev.gguflens.lens;

/**
 * Captured residual states: layer 0 is the embedding output, layer i the output of block i-1,
 * so a model with n blocks has n + 1 layers. Positions are indexes into the captured positions.
 */
public interface LayerStates {
    int layers();

    int positions();

    int embeddingLength();

    /** Copies the state of {@code layer} at {@code position} into {@code dst[dstOffset ..]}. */
    void copyState(int layer, int position, float[] dst, int dstOffset);

    /** Where a row of float32 values lies for (layer, position): e.g. a capture's off-heap buffer. */
    @FunctionalInterface
    interface RowSegments {
        java.lang.foreign.MemorySegment row(int layer, int position);
    }

    /**
     * States whose rows are float32 memory segments, copied a row at a time (no per-element calls). The rows are
     * looked up here, once: the lens's copy loop then makes no call through {@code rows}, whose class differs per
     * caller (a capture, the warm-up's synthetic states), so the code C2 compiles for the warm-up fits the real lens.
     */
    static LayerStates ofSegments(int layers, int positions, int embeddingLength, RowSegments rows) {
        java.lang.foreign.MemorySegment[] resolved = new java.lang.foreign.MemorySegment[Math.multiplyExact(layers, positions)];
        for (int layer = 0; layer < layers; layer++) {
            for (int p = 0; p < positions; p++) resolved[layer * positions + p] = rows.row(layer, p);
        }
        return new LayerStates() {
            @Override
            public int layers() {
                return layers;
            }

            @Override
            public int positions() {
                return positions;
            }

            @Override
            public int embeddingLength() {
                return embeddingLength;
            }

            @Override
            public void copyState(int layer, int position, float[] dst, int dstOffset) {
                java.lang.foreign.MemorySegment.copy(resolved[layer * positions + position], java.lang.foreign.ValueLayout.JAVA_FLOAT, 0,
                        dst, dstOffset, embeddingLength);
            }
        };
    }

    /** Wraps in-memory states indexed [layer][position][dimension]; the arrays are not copied. */
    static LayerStates of(float[][][] states) {
        if (states.length == 0 || states[0].length == 0 || states[0][0].length == 0) {
            throw new IllegalArgumentException("layer states: need at least one layer, position and dimension");
        }
        int positions = states[0].length;
        int width = states[0][0].length;
        for (int layer = 0; layer < states.length; layer++) {
            if (states[layer].length != positions) {
                throw new IllegalArgumentException("layer states: layer " + layer + " has " + states[layer].length
                        + " positions, expected " + positions);
            }
            for (int p = 0; p < positions; p++) {
                if (states[layer][p].length != width) {
                    throw new IllegalArgumentException("layer states: layer " + layer + " position " + p + " has "
                            + states[layer][p].length + " values, expected " + width);
                }
            }
        }
        return new LayerStates() {
            @Override
            public int layers() {
                return states.length;
            }

            @Override
            public int positions() {
                return positions;
            }

            @Override
            public int embeddingLength() {
                return width;
            }

            @Override
            public void copyState(int layer, int position, float[] dst, int dstOffset) {
                System.arraycopy(states[layer][position], 0, dst, dstOffset, width);
            }
        };
    }
}
