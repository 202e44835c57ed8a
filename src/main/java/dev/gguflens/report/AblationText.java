package dev.gguflens.report;

import dev.gguflens.experiment.AblationReport;
import dev.gguflens.experiment.AblationReport.Outcome;
import dev.gguflens.experiment.ProbeReport;

import java.io.IOException;
import java.io.Writer;
import java.util.List;
import java.util.Locale;

/** The text rendering of an ablation: what was ablated, then the answer and the top tokens without and with it. */
public final class AblationText {
    private AblationText() {}

    public static void write(AblationReport report, Writer out) throws IOException {
        out.write("Ablation of " + report.kind() + " " + String.join(", ", report.targets()) + " (" + report.mode()
                + (report.mode().equals("mean") ? " over " + report.meanPrompts() + " prompts" : "") + "; tensors "
                + String.join(", ", report.tensors()) + ") in " + report.model().name() + "\n");
        out.write("prompt: " + TokenDisplay.quoted(report.prompt()) + "\n");
        Outcome before = report.before();
        Outcome after = report.after();
        out.write(String.format(Locale.ROOT, "answer %s (token %d %s): p %.4f -> %.4f, rank %d -> %d%n",
                TokenDisplay.quoted(report.answer()), report.answerId(), TokenDisplay.quoted(report.answerToken()),
                before.p(), after.p(), before.rank(), after.rank()));
        for (var entry : List.of(List.of("without", before), List.of("with", after))) {
            Outcome o = (Outcome) entry.get(1);
            StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "top-%d %-7s:", o.top().size(), entry.get(0)));
            for (ProbeReport.TopToken t : o.top()) line.append(String.format(Locale.ROOT, " %s %.4f", TokenDisplay.quoted(t.token()), t.p()));
            out.write(line + "\n");
        }
    }
}
