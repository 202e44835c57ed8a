package dev.gguflens.report;

import com.google.gson.annotations.SerializedName;

import java.io.IOException;
import java.io.Writer;
import java.util.List;
import java.util.Locale;

/**
 * The answer's probability and the final top-k with and without an ablation of heads or MLP neurons.
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

    public void writeText(Writer out) throws IOException {
        out.write("Ablation of " + kind + " " + String.join(", ", targets) + " (" + mode
                + (mode.equals("mean") ? " over " + meanPrompts + " prompts" : "") + "; tensors " + String.join(", ", tensors)
                + ") in " + model.name() + "\n");
        out.write("prompt: " + TokenDisplay.quoted(prompt) + "\n");
        out.write(String.format(Locale.ROOT, "answer %s (token %d %s): p %.4f -> %.4f, rank %d -> %d%n", TokenDisplay.quoted(answer),
                answerId, TokenDisplay.quoted(answerToken), before.p(), after.p(), before.rank(), after.rank()));
        for (var entry : List.of(List.of("without", before), List.of("with", after))) {
            Outcome o = (Outcome) entry.get(1);
            StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "top-%d %-7s:", o.top().size(), entry.get(0)));
            for (ProbeReport.TopToken t : o.top()) line.append(String.format(Locale.ROOT, " %s %.4f", TokenDisplay.quoted(t.token()), t.p()));
            out.write(line + "\n");
        }
    }

    public void writeJson(Writer out) throws IOException {
        Json.write(this, out);
    }
}
