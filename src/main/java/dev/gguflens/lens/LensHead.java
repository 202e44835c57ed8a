package dev.gguflens.lens;


import java.util.OptionalDouble;

/**
 * Everything after the last block: the final norm, the output weight (+ bias) and the head transform
 * (logit scale, then final logit softcap), and the maths that applies them. Where each part comes from in a
 * GGUF model (tensor names, per-architecture norm kind, logit scale and softcap conventions) is
 * {@link HeadLookup}'s business.
 *
 * @param architecture GGUF {@code general.architecture}, for messages and norm choice
 * @param norm         the final norm the model applies
 * @param normWeight   gamma, one value per embedding dimension
 * @param normBias     beta for LayerNorm, or null
 * @param epsilon      the norm's epsilon (inside the square root)
 * @param output       the output weight (n_vocab rows of n_embd)
 * @param outputBias   one bias per vocabulary row, or null
 * @param logitScale   the multiplier applied to every logit, when the model has one
 * @param softcap      the final logit softcap c (z -> c * tanh(z / c)), when the model has one
 */
public record LensHead(String architecture, NormKind norm, float[] normWeight, float[] normBias, float epsilon,
                       LogitProjection output, float[] outputBias, OptionalDouble logitScale, OptionalDouble softcap) {

    public LensHead {
        if (normWeight == null) {
            throw new IllegalArgumentException(architecture + ": the final norm has no weight");
        }
        if (normWeight.length != output.columns()) {
            throw new IllegalArgumentException(architecture + ": final norm has " + normWeight.length
                    + " values but the output weight has " + output.columns() + " columns");
        }
        if (normBias != null && normBias.length != normWeight.length) {
            throw new IllegalArgumentException(architecture + ": final norm bias has " + normBias.length
                    + " values, expected " + normWeight.length);
        }
        if (outputBias != null && outputBias.length != output.rows()) {
            throw new IllegalArgumentException(architecture + ": output bias has " + outputBias.length
                    + " values, expected " + output.rows());
        }
        if (!(epsilon >= 0f) || Float.isInfinite(epsilon)) {
            throw new IllegalArgumentException(architecture + ": norm epsilon " + epsilon + " is not a finite value >= 0");
        }
        if (softcap.isPresent() && !(softcap.getAsDouble() > 0 && Double.isFinite(softcap.getAsDouble()))) {
            throw new IllegalArgumentException(architecture + ": final logit softcap " + softcap.getAsDouble()
                    + " is not a positive number");
        }
        if (logitScale.isPresent() && !Double.isFinite(logitScale.getAsDouble())) {
            throw new IllegalArgumentException(architecture + ": logit scale " + logitScale.getAsDouble() + " is not finite");
        }
    }

    /** This head reading its output weight from {@code output}: the same values held elsewhere (llama.cpp's pages). */
    public LensHead withOutput(LogitProjection output) {
        return new LensHead(architecture, norm, normWeight, normBias, epsilon, output, outputBias, logitScale, softcap);
    }

    public int vocabularySize() {
        return output.rows();
    }

    public int embeddingLength() {
        return output.columns();
    }

    /**
     * Writes the lens input for residual {@code h[hOffset ..]} to {@code dst[dstOffset ..]}. Statistics in double,
     * so that a huge residual (norms in the thousands are common) loses nothing before the division.
     */
    public void prepare(LensKind kind, float[] h, int hOffset, float[] dst, int dstOffset) {
        int n = normWeight.length;
        switch (kind) {
            case RAW -> System.arraycopy(h, hOffset, dst, dstOffset, n);
            case RMS -> {
                double inv = 1.0 / Math.sqrt(meanSquare(h, hOffset, n) + epsilon);
                for (int i = 0; i < n; i++) dst[dstOffset + i] = (float) (h[hOffset + i] * inv);
            }
            case NORM -> {
                if (norm == NormKind.RMS_NORM) {
                    double inv = 1.0 / Math.sqrt(meanSquare(h, hOffset, n) + epsilon);
                    for (int i = 0; i < n; i++) {
                        double v = h[hOffset + i] * inv * normWeight[i];
                        dst[dstOffset + i] = (float) (normBias == null ? v : v + normBias[i]);
                    }
                } else {
                    double mean = 0;
                    for (int i = 0; i < n; i++) mean += h[hOffset + i];
                    mean /= n;
                    double var = 0;
                    for (int i = 0; i < n; i++) {
                        double d = h[hOffset + i] - mean;
                        var += d * d;
                    }
                    var /= n;
                    double inv = 1.0 / Math.sqrt(var + epsilon);
                    for (int i = 0; i < n; i++) {
                        double v = (h[hOffset + i] - mean) * inv * normWeight[i];
                        dst[dstOffset + i] = (float) (normBias == null ? v : v + normBias[i]);
                    }
                }
            }
        }
    }

    /** Output bias, logit scale and softcap applied to the raw product {@code y} for vocabulary row {@code row}. */
    public double transformLogit(int row, double y) {
        double z = outputBias == null ? y : y + outputBias[row];
        if (logitScale.isPresent()) z *= logitScale.getAsDouble();
        if (softcap.isPresent()) {
            double cap = softcap.getAsDouble();
            z = cap * Math.tanh(z / cap);
        }
        return z;
    }

    private static double meanSquare(float[] h, int offset, int n) {
        double sum = 0;
        for (int i = 0; i < n; i++) {
            double v = h[offset + i];
            sum += v * v;
        }
        return sum / n;
    }
}
