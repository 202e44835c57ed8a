package dev.gguflens.lens;

/** How a residual state is prepared before it meets the output weight. */
public enum LensKind {
    /** The model's own final norm (RMSNorm or LayerNorm, with its learned weight and bias). */
    NORM,
    /** No norm at all: the raw residual goes straight into the output weight. */
    RAW,
    /** x / sqrt(mean(x^2) + eps), without the learned weight or bias. */
    RMS
}
