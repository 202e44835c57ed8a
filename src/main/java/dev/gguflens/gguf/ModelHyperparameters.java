package dev.gguflens.gguf;

import java.util.OptionalDouble;
import java.util.OptionalInt;

/**
 * The hyperparameters the lens needs, read from {@code {arch}.*} keys. {@code contextLength} is 0 when
 * the file does not state it; block count and embedding length are required.
 */
public record ModelHyperparameters(String architecture, int blockCount, int embeddingLength, int contextLength,
                                   OptionalDouble rmsNormEpsilon, OptionalDouble layerNormEpsilon,
                                   OptionalDouble finalLogitSoftcapping, OptionalDouble logitScale,
                                   OptionalInt fileType) {
}
