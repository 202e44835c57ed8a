package dev.gguflens.report;

import dev.gguflens.experiment.AttributionReport;
import dev.gguflens.experiment.ProbeReport;

import java.io.IOException;
import java.io.Writer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * The attribution as a terminal table: every block's attention and MLP part, the top parts and heads by
 * |contribution|, and the identity line (the parts sum to llama.cpp's logit).
 */
public final class AttributionText {
    private AttributionText() {}

    /** A named part with its contribution, for the top lists. */
    private record Part(String name, double value) {}

    public static String render(AttributionReport r, int top) {
        StringBuilder out = new StringBuilder(4096);
        ProbeReport.ModelInfo m = r.model();
        out.append("=== gguf-lens attribute: ").append(m.name()).append(" ===\n");
        out.append(fmt("Model: %s, %d blocks, %d heads per block, n_embd %d, file type %s%n", m.architecture(), m.nLayer(),
                r.headCount(), m.nEmbd(), m.fileType()));
        if (r.kvCache() != null) out.append("KV cache: ").append(TextReport.kvCache(r.kvCache())).append('\n');
        out.append("Prompt: ").append(TokenDisplay.quoted(r.prompt())).append('\n');
        out.append(fmt("Position %d (token %s)%n", r.position(), TokenDisplay.quoted(r.positionToken())));
        out.append(fmt("Answer: %s as token %d %s, llama.cpp logit %.6f%s%n", TokenDisplay.quoted(r.answer()), r.answerId(),
                TokenDisplay.quoted(r.answerToken()), r.answerLogit(),
                r.teacherForced() == null ? "" : " (summed over its " + r.teacherForced().size() + " tokens)"));
        for (String line : answerLines(r)) out.append(line).append('\n');
        if (r.other() != null) {
            out.append(fmt("Versus: %s as token %d %s, llama.cpp logit %.6f%n", TokenDisplay.quoted(r.other().text()),
                    r.other().id(), TokenDisplay.quoted(r.other().token()), r.other().logit()));
        }
        out.append("Decomposed: ").append(r.decomposed()).append('\n');
        out.append(fmt("Final norm frozen at the final residual: scale %.6g%n", r.frozenNormScale()));
        for (String note : r.notes()) out.append("Note: ").append(note).append('\n');
        out.append('\n');

        double scale = Math.abs(r.sumOfParts()) > 1e-12 ? r.sumOfParts() : Double.NaN;
        out.append(fmt("%-10s %12s %12s %12s %9s%n", "part", "attention", "MLP", "block", "% of sum"));
        out.append(fmt("%-10s %12s %12s %12.6f %8.1f%%%n", "embedding", "", "", r.embedding(), 100 * r.embedding() / scale));
        for (AttributionReport.Block b : r.blocks()) {
            out.append(fmt("%-10s %12.6f %12.6f %12.6f %8.1f%%%n", "block " + b.block(), b.attention(), b.mlp(), b.total(),
                    100 * b.total() / scale));
        }
        if (r.constant() != 0) out.append(fmt("%-10s %12s %12s %12.6f%n", "biases", "", "", r.constant()));
        out.append(fmt("%-10s %12s %12s %12.6f%n", "sum", "", "", r.sumOfParts()));
        out.append('\n');

        List<Part> parts = new ArrayList<>();
        parts.add(new Part("embedding", r.embedding()));
        List<Part> heads = new ArrayList<>();
        for (AttributionReport.Block b : r.blocks()) {
            parts.add(new Part("block " + b.block() + " attention", b.attention()));
            parts.add(new Part("block " + b.block() + " MLP", b.mlp()));
            for (int h = 0; h < b.heads().size(); h++) heads.add(new Part("block " + b.block() + " head " + h, b.heads().get(h)));
        }
        appendTop(out, "parts", parts, top, scale);
        appendTop(out, "heads", heads, top, scale);
        double worstRemainder = r.blocks().stream().mapToDouble(b -> Math.abs(b.headsRemainder())).max().orElse(0);
        out.append(fmt("Heads vs attention: largest |attention - heads - bias| %.3g (%.2g of |sum|)%n", worstRemainder,
                worstRemainder / Math.abs(scale)));
        out.append('\n');
        out.append(identityLine(r)).append('\n');
        return out.toString();
    }

    /**
     * Nothing for a one-token answer in first mode; else the answer's tokens and which are attributed, and in sequence
     * mode one line per token: the position that predicts it, llama.cpp's logit there and its parts' sum.
     */
    public static List<String> answerLines(AttributionReport r) {
        List<String> lines = new ArrayList<>();
        boolean sequence = r.teacherForced() != null;
        if (!r.multiToken() && !"sequence".equals(r.answerMode())) return lines;
        StringBuilder sb = new StringBuilder("  ").append(TokenDisplay.quoted(r.answer())).append(" is ")
                .append(r.answerTokens().size()).append(r.answerTokens().size() == 1 ? " token:" : " tokens:");
        for (ProbeReport.TokenInfo t : r.answerTokens()) sb.append(' ').append(TokenDisplay.quoted(t.text()));
        sb.append(!r.multiToken() ? "" : sequence
                ? "; all are attributed, each at the position that predicts it (teacher-forced), the parts summed:"
                : "; only the first is attributed (--answer-mode sequence attributes the whole answer)");
        lines.add(sb.toString());
        if (sequence) {
            for (AttributionReport.ForcedToken t : r.teacherForced()) {
                lines.add(fmt("    position %d -> %s (id %d): llama.cpp logit %.6f, sum of parts %.6f", t.position(),
                        TokenDisplay.quoted(t.token()), t.id(), t.logit(), t.sumOfParts()));
            }
        }
        return lines;
    }

    /** "Identity: sum of parts X = llama.cpp Y (|diff| D, relative R) ok|MISMATCH". */
    public static String identityLine(AttributionReport r) {
        AttributionReport.Identity id = r.identity();
        return fmt("Identity: sum of parts %.6f vs llama.cpp %.6f: |diff| %.2g, relative %.2g (tolerance %.0e) %s",
                r.sumOfParts(), id.reference(), id.absDiff(), id.relDiff(), AttributionReport.Identity.TOLERANCE,
                id.ok() ? "ok" : "MISMATCH");
    }

    private static void appendTop(StringBuilder out, String what, List<Part> parts, int top, double scale) {
        List<Part> sorted = parts.stream().sorted(Comparator.comparingDouble((Part p) -> -Math.abs(p.value()))).limit(top).toList();
        out.append(fmt("Top %d %s by |contribution|:%n", sorted.size(), what));
        for (Part p : sorted) out.append(fmt("  %-24s %+12.6f %8.1f%%%n", p.name(), p.value(), 100 * p.value() / scale));
    }

    public static void write(AttributionReport r, int top, Writer out) throws IOException {
        out.write(render(r, top));
    }

    private static String fmt(String format, Object... args) {
        return String.format(Locale.ROOT, format, args);
    }
}
