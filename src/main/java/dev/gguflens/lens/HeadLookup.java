package dev.gguflens.lens;

import dev.gguflens.gguf.GgufException;
import dev.gguflens.gguf.GgufFile;
import dev.gguflens.gguf.GgufTensor;
import dev.gguflens.gguf.ModelHyperparameters;
import dev.gguflens.quant.Kernels;
import dev.gguflens.quant.WeightMatrix;

import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.Set;
import java.util.function.Function;

/**
 * Finds a model's {@link LensHead} in a GGUF: which tensors hold the final norm and the output weight, which
 * norm each architecture applies, and how it states its logit scale and softcap (llama.cpp's conventions).
 * The head's maths stays in {@link LensHead}.
 */
public final class HeadLookup {
    /** Architectures whose final norm is LayerNorm (llama.cpp builds it with LLM_NORM); the bias is optional. */
    private static final Set<String> LAYER_NORM_ARCHITECTURES = Set.of(
            "gpt2", "phi2", "starcoder", "starcoder2", "falcon", "bloom", "gptneox", "stablelm", "mpt", "codeshell",
            "command-r", "cohere2", "dbrx", "jais", "nemotron", "orion", "rwkv6", "rwkv7");
    /** Architectures whose final norm is RMSNorm (llama.cpp LLM_NORM_RMS). */
    private static final Set<String> RMS_NORM_ARCHITECTURES = Set.of(
            "llama", "llama4", "mistral", "mistral3", "qwen", "qwen2", "qwen2moe", "qwen2vl", "qwen3", "qwen3moe",
            "qwen3next", "gemma", "gemma2", "gemma3", "gemma3n", "phi3", "deepseek", "deepseek2", "granite",
            "minicpm3", "internlm2", "baichuan", "xverse", "olmo2", "olmoe", "exaone", "exaone4", "smollm3", "mamba",
            "arctic", "grok", "openelm", "bitnet", "plamo", "refact", "chatglm", "glm4", "t5");

    /** Architectures where llama.cpp divides the logits by {@code {arch}.logit_scale} instead of multiplying. */
    private static final Set<String> DIVIDING_LOGIT_SCALE = Set.of(
            "granite", "granitemoe", "granitehybrid", "graniteswitch", "granite_swa");
    private static final ValueLayout.OfFloat LE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** llama.cpp's default final logit softcap for Gemma-2 when the GGUF does not state one. */
    private static final double GEMMA2_DEFAULT_SOFTCAP = 30.0;

    private HeadLookup() {}

    /**
     * The final-norm kind of an architecture: the known lists first; for an unknown architecture
     * LayerNorm when the GGUF has {@code output_norm.bias}, else RMSNorm.
     */
    public static NormKind normFor(String architecture, boolean hasNormBias) {
        String arch = architecture.toLowerCase(Locale.ROOT);
        if (RMS_NORM_ARCHITECTURES.contains(arch)) return NormKind.RMS_NORM;
        if (LAYER_NORM_ARCHITECTURES.contains(arch)) return NormKind.LAYER_NORM;
        return hasNormBias ? NormKind.LAYER_NORM : NormKind.RMS_NORM;
    }

    /** The head of a GGUF model, its output weight multiplied in place by the fused (quantised) kernels. */
    public static LensHead fromGguf(GgufFile file) {
        return fromGguf(file, tensor -> {
            Kernels.requireSupported(tensor.type(), tensor.name());
            return LogitProjection.of(new WeightMatrix(tensor.type(), tensor.data(),
                    Math.toIntExact(tensor.rowCount()), Math.toIntExact(tensor.rowLength())));
        });
    }

    /**
     * The head of a GGUF model: {@code output_norm.weight} (+ {@code output_norm.bias}), {@code output.weight}
     * or, for tied models without it, {@code token_embd.weight}, plus {@code output.bias}, the logit scale and
     * the final logit softcap from the metadata. {@code projection} turns the output tensor into something the
     * lens can multiply with.
     */
    public static LensHead fromGguf(GgufFile file, Function<GgufTensor, LogitProjection> projection) {
        ModelHyperparameters hp = file.hyperparameters();
        String arch = hp.architecture();
        int width = hp.embeddingLength();
        GgufTensor normTensor = file.tensor("output_norm.weight").orElseThrow(() -> new GgufException(file.path(),
                "tensor output_norm.weight (the final norm) is missing; cannot build the " + arch + " lens head"));
        Optional<GgufTensor> normBiasTensor = file.tensor("output_norm.bias");
        GgufTensor outputTensor = outputTensor(file).orElseThrow(() -> new GgufException(file.path(),
                        "neither output.weight nor token_embd.weight (tied embeddings) is present; cannot build the "
                                + arch + " lens head"));
        if (outputTensor.dimensions() != 2 || outputTensor.rowLength() != width) {
            throw new GgufException(file.path(), "tensor " + outputTensor.name() + " has shape "
                    + java.util.Arrays.toString(outputTensor.shape()) + ", expected [" + width + ", n_vocab]");
        }
        int vocab = Math.toIntExact(outputTensor.rowCount());
        float[] normWeight = smallVector(file, normTensor, width);
        float[] normBias = normBiasTensor.map(t -> smallVector(file, t, width)).orElse(null);
        float[] outputBias = file.tensor("output.bias").map(t -> smallVector(file, t, vocab)).orElse(null);

        NormKind norm = normFor(arch, normBias != null);
        OptionalDouble preferred = norm == NormKind.RMS_NORM ? hp.rmsNormEpsilon() : hp.layerNormEpsilon();
        OptionalDouble other = norm == NormKind.RMS_NORM ? hp.layerNormEpsilon() : hp.rmsNormEpsilon();
        double epsilon = preferred.isPresent() ? preferred.getAsDouble() : other.orElseThrow(() -> new GgufException(
                file.path(), "neither " + arch + ".attention.layer_norm_rms_epsilon nor " + arch
                + ".attention.layer_norm_epsilon is set; the final norm needs its epsilon"));

        OptionalDouble scale = OptionalDouble.empty();
        if (hp.logitScale().isPresent() && hp.logitScale().getAsDouble() != 0) {
            double value = hp.logitScale().getAsDouble();
            scale = OptionalDouble.of(DIVIDING_LOGIT_SCALE.contains(arch) ? 1.0 / value : value);
        }
        OptionalDouble softcap = hp.finalLogitSoftcapping();
        if (softcap.isEmpty() && arch.equals("gemma2")) softcap = OptionalDouble.of(GEMMA2_DEFAULT_SOFTCAP);
        if (softcap.isPresent() && softcap.getAsDouble() == 0) softcap = OptionalDouble.empty();   // 0 = off
        try {
            return new LensHead(arch, norm, normWeight, normBias, (float) epsilon, projection.apply(outputTensor),
                    outputBias, scale, softcap);
        } catch (IllegalArgumentException e) {
            throw new GgufException(file.path(), -1, e.getMessage(), e);
        }
    }

    /** The tensor the head's output weight is: {@code output.weight}, or {@code token_embd.weight} for tied models. */
    public static Optional<GgufTensor> outputTensor(GgufFile file) {
        return file.tensor("output.weight").or(() -> file.tensor("token_embd.weight"));
    }

    /** A norm or bias vector (F32, F16 or BF16) of exactly {@code expected} elements. */
    private static float[] smallVector(GgufFile file, GgufTensor tensor, int expected) {
        if (tensor.elementCount() != expected) {
            throw new GgufException(file.path(), "tensor " + tensor.name() + " has " + tensor.elementCount()
                    + " elements, expected " + expected);
        }
        float[] out = new float[expected];
        var data = tensor.data();
        switch (tensor.type()) {
            case F32 -> {
                for (int i = 0; i < expected; i++) out[i] = data.getAtIndex(LE_FLOAT, i);
            }
            case F16 -> {
                for (int i = 0; i < expected; i++) {
                    out[i] = Float.float16ToFloat(data.getAtIndex(LE_SHORT, i));
                }
            }
            case BF16 -> {
                for (int i = 0; i < expected; i++) {
                    out[i] = Float.intBitsToFloat((data.getAtIndex(LE_SHORT, i) & 0xffff) << 16);
                }
            }
            default -> throw new GgufException(file.path(), "tensor " + tensor.name() + " has type " + tensor.type()
                    + "; the lens reads norm and bias vectors only as F32, F16 or BF16");
        }
        return out;
    }
}
