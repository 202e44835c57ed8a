package dev.gguflens.report;

import dev.gguflens.experiment.AttributionReport;

import java.io.IOException;
import java.io.Writer;

/**
 * The attribution as one long table, {@code part, block, head, contribution}: the embedding, per block its
 * attention, each head, the attention bias, the heads' remainder and its MLP, then the constant and the sum of parts
 * (block and head empty where they do not apply). An answer of several tokens adds one {@code answer_token} row per
 * token: block = the position that predicts it, head = its token id, contribution = its own sum of parts in sequence
 * mode (empty in first mode, where only the first token is attributed). RFC 4180 quoting, numbers with 9 significant
 * digits.
 */
public final class AttributionCsv {
    private AttributionCsv() {}

    public static void write(AttributionReport r, Writer out) throws IOException {
        out.write(CsvReports.row("part", "block", "head", "contribution"));
        out.write(CsvReports.row("embedding", "", "", num(r.embedding())));
        for (AttributionReport.Block b : r.blocks()) {
            out.write(CsvReports.row("attention", b.block(), "", num(b.attention())));
            for (int h = 0; h < b.heads().size(); h++) out.write(CsvReports.row("head", b.block(), h, num(b.heads().get(h))));
            out.write(CsvReports.row("attention_bias", b.block(), "", num(b.attentionBias())));
            out.write(CsvReports.row("heads_remainder", b.block(), "", num(b.headsRemainder())));
            out.write(CsvReports.row("mlp", b.block(), "", num(b.mlp())));
        }
        out.write(CsvReports.row("constant", "", "", num(r.constant())));
        out.write(CsvReports.row("sum_of_parts", "", "", num(r.sumOfParts())));
        if (r.teacherForced() != null) {
            for (AttributionReport.ForcedToken t : r.teacherForced()) {
                out.write(CsvReports.row("answer_token", t.position(), t.id(), num(t.sumOfParts())));
            }
        } else if (r.multiToken()) {
            for (int j = 0; j < r.answerTokens().size(); j++) {
                out.write(CsvReports.row("answer_token", j == 0 ? r.position() : "", r.answerTokens().get(j).id(), ""));
            }
        }
    }

    private static String num(double v) {
        return String.format(java.util.Locale.ROOT, "%.9g", v);
    }
}
