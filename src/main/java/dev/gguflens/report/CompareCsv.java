package dev.gguflens.report;

import dev.gguflens.experiment.CompareReport;
import dev.gguflens.experiment.CompareReport.Layer;
import dev.gguflens.experiment.CompareReport.PromptInfo;
import dev.gguflens.experiment.CompareReport.PromptResult;
import dev.gguflens.experiment.CompareReport.Variant;
import dev.gguflens.experiment.ProbeReport;

import java.io.IOException;
import java.io.Writer;
import java.util.List;
import java.util.Locale;

/**
 * {@code compare-layers.csv}: one row per (variant, prompt, layer), the probe's metrics then those against the
 * reference. {@code expected_answer_tokens} is how many tokens the answer has (its first is {@code expected_id});
 * {@code answer_logprob} and {@code answer_worst_rank} are the whole answer's (sequence mode, else empty).
 */
public final class CompareCsv {
    public static final List<String> HEADER = List.of("variant", "reference", "prompt", "prompt_text", "layer",
            "entropy_bits", "top1_id", "top1_token", "top1_p", "expected", "expected_id", "expected_rank", "expected_p",
            "expected_answer_tokens", "answer_logprob", "answer_worst_rank",
            "kl_to_final_bits", "cos_to_final", "residual_norm",
            "kl_to_reference_bits", "top1_agree", "reference_top1_id", "topk_jaccard", "residual_cos");

    private CompareCsv() {}

    public static void write(CompareReport report, Writer out) throws IOException {
        out.write(CsvReports.row(HEADER.toArray()));
        for (Variant v : report.variants()) {
            for (PromptResult r : v.prompts()) {
                PromptInfo prompt = report.prompts().get(r.prompt());
                for (Layer l : r.layers()) {
                    ProbeReport.LayerEntry p = l.probe();
                    ProbeReport.TopToken top1 = p.top().getFirst();
                    ProbeReport.Expected e = p.expected() == null || p.expected().isEmpty() ? null : p.expected().getFirst();
                    CompareReport.LayerComparison c = l.vsReference();
                    out.write(CsvReports.row(v.name(), v.reference(), r.prompt(), prompt.prompt(), p.layer(),
                            num(p.entropyBits()), top1.id(), top1.token(), num(top1.p()),
                            e == null ? "" : e.text(), e == null ? "" : e.id(), e == null ? "" : e.rank(),
                            e == null ? "" : num(e.p()),
                            prompt.answerTokens() == null ? "" : prompt.answerTokens().size(),
                            e == null || e.answerLogProb() == null ? "" : num(e.answerLogProb()),
                            e == null || e.answerWorstRank() == null ? "" : e.answerWorstRank(),
                            num(p.klToFinalBits()), num(p.cosToFinal()), num(p.residualNorm()),
                            num(c.klBits()), c.top1Agree(), c.referenceTop1Id(), num(c.topKJaccard()), num(c.residualCosine())));
                }
            }
        }
    }

    private static String num(double v) {
        return String.format(Locale.ROOT, "%.9g", v);
    }
}
