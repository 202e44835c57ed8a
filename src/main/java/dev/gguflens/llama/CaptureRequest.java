package dev.gguflens.llama;

import java.util.List;

/**
 * What a capture records besides nothing.
 *
 * @param layers       the residual stream: embedding output and every block's output
 * @param resultNorm   llama.cpp's final normalised state ("result_norm")
 * @param logits       llama.cpp's logits for every position
 * @param extraTensors further graph tensors by llama.cpp name, e.g. "kqv_out-3", "ffn_inp-0", "ffn_out-1"
 */
public record CaptureRequest(boolean layers, boolean resultNorm, boolean logits, List<String> extraTensors) {
    public CaptureRequest {
        extraTensors = List.copyOf(extraTensors);
        for (String name : extraTensors) {
            if (name.isBlank()) throw new IllegalArgumentException("extra tensor names must not be blank");
        }
    }

    public static CaptureRequest all() {
        return new CaptureRequest(true, true, true, List.of());
    }

    public CaptureRequest withExtras(List<String> names) {
        return new CaptureRequest(layers, resultNorm, logits, names);
    }
}
