package dev.gguflens.report;

import dev.gguflens.experiment.AttributionReport;
import dev.gguflens.experiment.ProbeReport;

import com.google.gson.annotations.SerializedName;

import java.util.ArrayList;
import java.util.List;

/**
 * {@code attribute} over a prompt set: per part (embedding, each block's attention and MLP, each head) the mean and
 * spread of its contribution across the prompts, and the worst identity check. Shaped like its JSON output.
 *
 * @param prompts   one line per prompt: what was attributed and how the identity held
 * @param sumOfParts statistics of the attributed logits themselves
 */
public record AttributionSummary(
        ProbeReport.ModelInfo model,
        List<PromptLine> prompts,
        Stats embedding,
        List<Block> blocks,
        @SerializedName("sum_of_parts") Stats sumOfParts,
        @SerializedName("worst_identity_rel_diff") double worstIdentityRelDiff,
        @SerializedName("identity_ok") boolean identityOk,
        @SerializedName("head_count") int headCount,
        List<String> notes) {

    public record PromptLine(String prompt, String answer, @SerializedName("answer_id") int answerId,
                             @SerializedName("answer_token") String answerToken,
                             @SerializedName("sum_of_parts") double sumOfParts,
                             @SerializedName("identity_rel_diff") double identityRelDiff,
                             @SerializedName("answer_tokens") int answerTokens,
                             @SerializedName("answer_mode") String answerMode) {}

    /**
     * Over n prompts: the mean, the standard deviation (n - 1 in the denominator; 0 for one prompt), min and max.
     */
    public record Stats(double mean, double std, double min, double max) {
        public static Stats of(double[] values) {
            if (values.length == 0) throw new IllegalArgumentException("no values");
            double mean = 0, min = Double.POSITIVE_INFINITY, max = Double.NEGATIVE_INFINITY;
            for (double v : values) {
                mean += v;
                min = Math.min(min, v);
                max = Math.max(max, v);
            }
            mean /= values.length;
            double ss = 0;
            for (double v : values) ss += (v - mean) * (v - mean);
            double std = values.length > 1 ? Math.sqrt(ss / (values.length - 1)) : 0;
            return new Stats(mean, std, min, max);
        }
    }

    public record Block(int block, Stats attention, Stats mlp, List<Stats> heads) {
        public Block {
            heads = List.copyOf(heads);
        }
    }

    public AttributionSummary {
        prompts = List.copyOf(prompts);
        blocks = List.copyOf(blocks);
        notes = List.copyOf(notes);
    }

    /** Aggregates reports of one model (same blocks and heads). */
    public static AttributionSummary of(List<AttributionReport> reports) {
        if (reports.isEmpty()) throw new IllegalArgumentException("no attribution reports to summarise");
        AttributionReport first = reports.getFirst();
        int n = reports.size(), blocks = first.blocks().size(), heads = first.headCount();
        for (AttributionReport r : reports) {
            if (r.blocks().size() != blocks || r.headCount() != heads) {
                throw new IllegalArgumentException("reports differ in blocks or heads; summarise one model at a time");
            }
        }
        List<PromptLine> lines = new ArrayList<>();
        double worst = 0;
        boolean ok = true;
        for (AttributionReport r : reports) {
            lines.add(new PromptLine(r.prompt(), r.answer(), r.answerId(), r.answerToken(), r.sumOfParts(),
                    r.identity().relDiff(), r.answerTokens().size(), r.answerMode()));
            worst = Double.isNaN(r.identity().relDiff()) ? worst : Math.max(worst, r.identity().relDiff());
            ok &= r.identity().ok();
        }
        List<Block> out = new ArrayList<>(blocks);
        for (int b = 0; b < blocks; b++) {
            final int block = b;
            List<Stats> headStats = new ArrayList<>(heads);
            for (int h = 0; h < heads; h++) {
                final int head = h;
                headStats.add(Stats.of(reports.stream().mapToDouble(r -> r.blocks().get(block).heads().get(head)).toArray()));
            }
            out.add(new Block(b, Stats.of(reports.stream().mapToDouble(r -> r.blocks().get(block).attention()).toArray()),
                    Stats.of(reports.stream().mapToDouble(r -> r.blocks().get(block).mlp()).toArray()), headStats));
        }
        List<String> notes = new ArrayList<>(first.notes().stream().filter(s -> s.startsWith("Each part")
                || s.startsWith("The final logit softcap") || s.startsWith("Attention and MLP outputs")).toList());
        notes.add("Over " + n + " prompts: mean, standard deviation (n - 1), min and max of each part; each prompt attributes"
                + " its own answer at its last position.");
        return new AttributionSummary(first.model(), lines, Stats.of(reports.stream().mapToDouble(AttributionReport::embedding)
                .toArray()), out, Stats.of(reports.stream().mapToDouble(AttributionReport::sumOfParts).toArray()), worst, ok,
                heads, notes);
    }
}
