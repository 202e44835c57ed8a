package dev.gguflens.llama;

/**
 * How llama.cpp spreads a model over several devices (its {@code --split-mode}): {@code none} puts every
 * offloaded layer on the main GPU alone, {@code layer} (llama.cpp's default) splits layers and KV cache across
 * the devices, {@code row} splits weight matrices by rows, which needs a backend with split buffers.
 */
public enum SplitMode {
    NONE("none", 0), LAYER("layer", 1), ROW("row", 2);

    private final String llamaName;
    private final int llamaValue;

    SplitMode(String llamaName, int llamaValue) {
        this.llamaName = llamaName;
        this.llamaValue = llamaValue;
    }

    /** none, layer, row: llama.cpp's spelling. */
    public String llamaName() { return llamaName; }

    /** llama.h's LLAMA_SPLIT_MODE_* value. */
    int llamaValue() { return llamaValue; }
}
