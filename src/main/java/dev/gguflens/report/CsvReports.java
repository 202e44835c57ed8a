package dev.gguflens.report;

import dev.gguflens.experiment.ProbeReport;
import dev.gguflens.experiment.ProbeReport.Expected;
import dev.gguflens.experiment.ProbeReport.LayerEntry;
import dev.gguflens.experiment.ProbeReport.TopToken;
import dev.gguflens.gguf.UntrustedText;

import java.io.IOException;
import java.io.Writer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The two CSV files of a probe: records (one row per layer and position) and pure-next-token (last position,
 * one row per layer with every metric). RFC 4180 quoting; a list inside a cell is a JSON array, so token
 * texts containing any separator survive.
 */
public final class CsvReports {
    private CsvReports() {}

    public static void writeRecords(ProbeReport r, Writer out) throws IOException {
        out.write("layer,pos,token_id,token,entropy_nats,entropy_bits,top_ids,top_tokens,top_probs,site\n");
        List<ProbeReport.PositionEntry> positions = r.positions();
        if (positions == null || positions.isEmpty()) {
            int last = r.tokens().size() - 1;
            ProbeReport.TokenInfo t = r.tokens().get(last);
            positions = List.of(new ProbeReport.PositionEntry(last, t.id(), t.text(), r.layers()));
        }
        for (ProbeReport.PositionEntry p : positions) {
            for (LayerEntry l : p.layers()) {
                out.write(row(l.layer(), p.pos(), p.id(), UntrustedText.escaped(p.token()), num(l.entropyNats()), num(l.entropyBits()),
                        join(l.top(), TopToken::id), join(l.top(), TopToken::token),
                        join(l.top(), TopToken::p), siteOf(l)));
            }
        }
    }

    public static void writePureNextToken(ProbeReport r, Writer out) throws IOException {
        List<Expected> tracked = r.layers().isEmpty() ? List.of() : r.layers().getFirst().expected();
        List<String> header = new ArrayList<>(List.of("layer", "entropy_nats", "entropy_bits", "top1_id", "top1_token", "top1_p",
                "kl_to_final_bits", "cos_to_final", "residual_norm", "top_ids", "top_tokens", "top_probs"));
        boolean whole = tracked.stream().anyMatch(e -> e.answerLogProb() != null);
        for (int i = 0; i < tracked.size(); i++) {
            if (r.answers() != null) header.add("expected" + i + "_answer_tokens");
            header.addAll(List.of("expected" + i + "_text", "expected" + i + "_id", "expected" + i + "_token",
                    "expected" + i + "_rank", "expected" + i + "_p"));
            if (whole) header.addAll(List.of("expected" + i + "_answer_logprob", "expected" + i + "_answer_worst_rank"));
        }
        header.add("site");
        out.write(row(header.toArray()));
        for (LayerEntry l : r.layers()) {
            TopToken top1 = l.top().getFirst();
            List<Object> cells = new ArrayList<>(List.of(l.layer(), num(l.entropyNats()), num(l.entropyBits()),
                    top1.id(), UntrustedText.escaped(top1.token()), num(top1.p()), num(l.klToFinalBits()), num(l.cosToFinal()), num(l.residualNorm()),
                    join(l.top(), TopToken::id), join(l.top(), TopToken::token), join(l.top(), TopToken::p)));
            for (int i = 0; i < l.expected().size(); i++) {
                Expected e = l.expected().get(i);
                if (r.answers() != null) cells.add(TextReport.answer(r, i).tokens().size());
                cells.addAll(List.of(UntrustedText.escaped(e.text()), e.id(), UntrustedText.escaped(e.token()), e.rank(), num(e.p())));
                if (whole) cells.addAll(List.of(num(e.answerLogProb()), e.answerWorstRank()));
            }
            cells.add(siteOf(l));
            out.write(row(cells.toArray()));
        }
    }

    /** The row's site; reports read from JSON written before sites existed have none. */
    private static String siteOf(LayerEntry l) {
        return l.site() == null ? "" : l.site();
    }

    static String row(Object... cells) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < cells.length; i++) {
            if (i > 0) sb.append(',');
            sb.append(quote(String.valueOf(cells[i])));
        }
        return sb.append('\n').toString();
    }

    static String quote(String cell) {
        boolean needs = cell.indexOf(',') >= 0 || cell.indexOf('"') >= 0 || cell.indexOf('\n') >= 0
                || cell.indexOf('\r') >= 0 || (!cell.isEmpty() && (cell.charAt(0) == ' ' || cell.charAt(cell.length() - 1) == ' '));
        return needs ? '"' + cell.replace("\"", "\"\"") + '"' : cell;
    }

    private static String num(double v) {
        return String.format(Locale.ROOT, "%.9g", v);
    }

    private static <T> String join(List<T> items, java.util.function.Function<T, Object> f) {
        return Json.compact(items.stream().map(f).toList());
    }

}
