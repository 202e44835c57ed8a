package dev.gguflens.experiment;

import com.google.gson.annotations.SerializedName;

import java.util.List;

/**
 * The answer's probability and the final top-k with and without an ablation of heads or MLP neurons; rendered
 * by {@code report.AblationText} (text) and {@code report.Json}.
 *
 * @param targets   what was ablated, e.g. "2.3" (block 2, head 3) or "1:17" (block 1, neuron 17)
 * @param tensors   the graph tensors written, e.g. "kqv_out-2", "ffn_swiglu-1"
 * @param mode      "zero" or "mean" (the mean over every position of {@code meanPrompts} prompts)
 */
public record AblationReport(ProbeReport.ModelInfo model, String prompt, String answer, @SerializedName("answer_id") int answerId,
                             @SerializedName("answer_token") String answerToken,
                             String kind, List<String> targets, List<String> tensors, String mode, @SerializedName("mean_prompts") int meanPrompts,
                             Outcome before, Outcome after) {
    public AblationReport {
        targets = List.copyOf(targets);
        tensors = List.copyOf(tensors);
    }

    /** The answer's probability and rank, and the top tokens, at the last position. */
    public record Outcome(double p, int rank, List<ProbeReport.TopToken> top) {
        public Outcome {
            top = List.copyOf(top);
        }
    }
}
