package dev.gguflens.quant;

import dev.gguflens.gguf.GgmlType;

/** A tensor's element type has no kernel here; raised instead of ever producing wrong numbers. */
public final class UnsupportedTypeException extends RuntimeException {
    private final transient GgmlType type;

    public UnsupportedTypeException(GgmlType type, String tensorName) {
        super((tensorName == null ? "" : "tensor '" + tensorName + "': ")
                + "type " + type + " is not supported by gguf-lens kernels");
        this.type = type;
    }

    public GgmlType type() {
        return type;
    }
}
