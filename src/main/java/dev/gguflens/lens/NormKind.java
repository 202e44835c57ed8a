package dev.gguflens.lens;

/** The kind of final norm an architecture applies before its output weight. */
public enum NormKind {
    /** x / sqrt(mean(x^2) + eps) * gamma. */
    RMS_NORM,
    /** (x - mean) / sqrt(var + eps) * gamma + beta. */
    LAYER_NORM
}
