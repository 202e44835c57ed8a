package dev.gguflens.report;

import dev.gguflens.experiment.ProbeReport;
import dev.gguflens.experiment.ProbeReport.Expected;
import dev.gguflens.experiment.ProbeReport.LayerEntry;
import dev.gguflens.experiment.ProbeReport.Milestone;
import dev.gguflens.experiment.ProbeReport.TopToken;
import dev.gguflens.gguf.UntrustedText;

import java.io.IOException;
import java.io.Writer;
import java.util.List;
import java.util.Locale;

/**
 * The seed write-up's text dump: per layer the top-k tokens with probabilities and the entropy, then the
 * final prediction, the consistency check, milestones, extra prompts, the temperature sweep and model stats.
 */
public final class TextReport {
    private TextReport() {}

    public static String render(ProbeReport r, boolean withTimings) {
        StringBuilder out = new StringBuilder(8192);
        ProbeReport.ModelInfo m = r.model();
        out.append("=== gguf-lens probe: ").append(UntrustedText.escaped(m.name())).append(" ===\n");
        out.append(fmt("Model: %s, %d blocks, n_embd %d, vocab %d, file type %s, output weight %s%n",
                UntrustedText.escaped(m.architecture()), m.nLayer(), m.nEmbd(), m.nVocab(), m.fileType(), m.outputWeightType()));
        if (m.backend() != null) {
            out.append("Backend: ").append(UntrustedText.escaped(m.backend().line())).append('\n');
            if (m.backend().warning() != null) out.append("Warning: ").append(m.backend().warning()).append('\n');
        }
        out.append("Prompt: ").append(UntrustedText.quotedInFull(r.prompt())).append('\n');
        out.append("Tokens (").append(r.tokens().size()).append("):");
        for (ProbeReport.TokenInfo t : r.tokens()) out.append(' ').append(t.id()).append('=').append(TokenDisplay.quoted(t.text()));
        out.append('\n');
        out.append("Lens: ").append(r.lens()).append('\n');
        if (r.kvCache() != null) out.append("KV cache: ").append(kvCache(r.kvCache())).append('\n');
        List<Expected> tracked = r.layers().isEmpty() ? List.of() : r.layers().getFirst().expected();
        for (int i = 0; i < tracked.size(); i++) {
            Expected e = tracked.get(i);
            out.append("Tracking ").append(TokenDisplay.quoted(e.text())).append(" as token ").append(e.id())
                    .append(' ').append(TokenDisplay.quoted(e.token())).append('\n');
            ProbeReport.Answer a = answer(r, i);
            if (a != null && a.multiToken()) out.append("  ").append(multiTokenNote(a)).append('\n');
        }
        out.append('\n');

        for (LayerEntry layer : r.layers()) {
            String label = layer.mid() ? fmt("Layer %2d + attn (block %d mid):", layer.layer(), layer.layer())
                    : layer.layer() == 0 ? "Layer  0 (embeddings):" : fmt("Layer %2d (block %d):", layer.layer(), layer.layer() - 1);
            out.append(fmt("%-38s entropy: %.3f nats (%.3f bits)  KL to final: %.3f bits%n",
                    label, layer.entropyNats(), layer.entropyBits(), layer.klToFinalBits()));
            appendTop(out, layer.top());
            for (Expected e : layer.expected()) {
                out.append(fmt("   -> %s: rank %d, p %.4f", TokenDisplay.quoted(e.text()), e.rank(), e.p()));
                if (e.answerLogProb() != null) {
                    out.append(fmt("; whole answer: log p %.3f nats, worst token rank %d", e.answerLogProb(), e.answerWorstRank()));
                }
                out.append('\n');
            }
        }

        ProbeReport.FinalPrediction fin = r.finalPrediction();
        out.append(fmt("%nModel's final prediction (entropy: %.3f nats, %.3f bits):%n", fin.entropyNats(), fin.entropyBits()));
        appendTop(out, fin.top());

        ProbeReport.Consistency c = r.consistency();
        out.append(fmt("%nConsistency (lens at last layer vs llama.cpp logits): KL %s bits, max |delta logit| %s, top-1 %s%n",
                atLeast(c.klBits(), 1e-9), atLeast(c.maxAbsLogitDiff(), 1e-5), c.top1Agree() ? "agrees" : "DIFFERS"));
        if (c.unexplainedKlBits() != null) {
            out.append(fmt("  explained by llama.cpp's activation rounding (%s): KL %s bits, max |delta logit| %s; unexplained: KL %s bits, max |delta logit| %s%n",
                    "F32".equals(c.activationRounding()) ? "none for an F32 head" : "to " + c.activationRounding(), atLeast(c.expectedKlBits(), 1e-9), atLeast(c.expectedMaxAbsLogitDiff(), 1e-5),
                    atLeast(c.unexplainedKlBits(), 1e-9), atLeast(c.unexplainedMaxAbsLogitDiff(), 1e-5)));
        }
        if (c.warning()) out.append("  WARNING: ").append(warningText(c)).append('\n');

        ProbeReport.Milestones ms = r.milestones();
        boolean sequence = r.answers() != null && r.answers().stream().anyMatch(a -> a.mode().equals("sequence"));
        out.append(sequence ? "\nMilestones (last position; answer ranks: the whole answer, i.e. its worst token rank):\n"
                : "\nMilestones (last position):\n");
        milestone(out, "first layer with answer at rank 1", ms.firstRank1());
        milestone(out, "first layer with answer in top 5", ms.firstRankLe5());
        milestone(out, "first layer with answer in top 10", ms.firstRankLe10());
        milestone(out, "first layer with KL to final < 1 bit", ms.firstKlBelow1Bit());
        milestone(out, "first layer with KL to final < 0.5 bit", ms.firstKlBelowHalfBit());
        milestone(out, "copy collapse" + (ms.copyCollapseToken() == null ? "" : " on " + TokenDisplay.quoted(ms.copyCollapseToken())),
                ms.copyCollapse());

        if (!r.extraPrompts().isEmpty()) {
            out.append("\nExtra prompts:\n");
            for (ProbeReport.ExtraPrompt e : r.extraPrompts()) {
                out.append("  ").append(TokenDisplay.quoted(e.prompt()));
                if (e.expected() != null && e.expectedRank() != null) {
                    String several = e.expectedTokens() != null && e.expectedTokens() > 1
                            ? fmt(" (%d tokens, first tracked)", e.expectedTokens()) : "";
                    out.append(fmt("  [%s%s: rank %d, p %.4f]", TokenDisplay.quoted(e.expected()), several, e.expectedRank(), e.expectedP()));
                }
                out.append(fmt("  entropy %.3f bits%n", e.entropyBits()));
                appendTop(out, e.top());
            }
        }
        if (!r.temperatures().isEmpty()) {
            out.append("\nTemperature sweep (final logits / T):\n");
            for (ProbeReport.TemperaturePoint t : r.temperatures()) {
                out.append(fmt("  T = %.1f: entropy %.3f bits%n", t.temperature(), t.entropyBits()));
                appendTop(out, t.top());
            }
        }
        out.append(fmt("%nModel stats: %s, %,d parameters, %d layers, d_model %d, %s heads (%s KV), vocab %d, trained context %d, %s, %,d bytes%n",
                UntrustedText.escaped(m.architecture()), m.nParams(), m.nLayer(), m.nEmbd(), m.nHead(), m.nHeadKv(), m.nVocab(), m.nCtxTrain(),
                m.fileType(), m.fileBytes()));
        if (withTimings && r.timings() != null) {
            ProbeReport.Timings t = r.timings();
            String bare = t.bareProductMs() == null ? ""
                    : fmt(" (bare output-weight product for the same vectors: %.1f ms)", t.bareProductMs());
            String extra = t.extraForwardMs() > 0 ? fmt(" (+ %.1f ms for the other prompts and answers)", t.extraForwardMs()) : "";
            out.append(fmt("Timings: model load %.1f ms, forward %.1f ms%s, lens %.1f ms%s, report %.1f ms, peak RSS %s%n",
                    t.modelLoadMs(), t.forwardMs(), extra, t.lensMs(), bare, t.reportMs(), rss(t.peakRssBytes())));
        }
        return out.toString();
    }

    public static void write(ProbeReport r, boolean withTimings, Writer out) throws IOException {
        out.write(render(r, withTimings));
    }

    /** Why the consistency check warns. */
    static String warningText(ProbeReport.Consistency c) {
        return c.unexplainedKlBits() == null ? "the lens at the last layer differs from llama.cpp's logits"
                : fmt("%.3g bits between llama.cpp's logits and the head with its activation rounding, above %.0e: "
                        + "the lens head (norm, gamma, epsilon, bias or softcap) does not match the model",
                        c.unexplainedKlBits(), c.warningBits());
    }

    /** "f32, flash attention off: exact F32 forward at every layer (default: ...)". */
    static String kvCache(ProbeReport.KvCache kv) {
        return kv.type() + ", flash attention " + kv.flashAttn() + ": "
                + (kv.exact() ? "every layer is the exact F32 forward" : "intermediate layers carry the cache's rounding (not an exact F32 forward)")
                + " (" + kv.reason() + ")";
    }

    /** The answer description for tracked answer {@code i}, or null when the report has none. */
    static ProbeReport.Answer answer(ProbeReport r, int i) {
        return r.answers() != null && i < r.answers().size() ? r.answers().get(i) : null;
    }

    /** Says that a multi-token answer is tracked by its first token, or scored whole in sequence mode. */
    static String multiTokenNote(ProbeReport.Answer a) {
        StringBuilder sb = new StringBuilder();
        sb.append(TokenDisplay.quoted(a.text())).append(" is ").append(a.tokens().size()).append(" tokens:");
        for (ProbeReport.TokenInfo t : a.tokens()) sb.append(' ').append(TokenDisplay.quoted(t.text()));
        sb.append(a.mode().equals("sequence")
                ? "; ranks and p are its first token's, 'whole answer' sums all its tokens (teacher-forced)"
                : "; only the first is tracked (--answer-mode sequence scores the whole answer)");
        return sb.toString();
    }

    private static void appendTop(StringBuilder out, List<TopToken> top) {
        for (int i = 0; i < top.size(); i++) {
            out.append(fmt("   %d. %s (%.3f)%n", i + 1, TokenDisplay.quoted(top.get(i).token()), top.get(i).p()));
        }
    }

    private static void milestone(StringBuilder out, String what, Milestone m) {
        if (m == null || m.layer() == null) out.append(fmt("  %-46s never%n", what + ":"));
        else out.append(fmt("  %-46s layer %d (%.0f%% of depth)%n", what + ":", m.layer(), 100 * m.fraction()));
    }

    /** Below {@code floor} the digits are float rounding noise that changes run to run: print the bound (JSON keeps the value). */
    private static String atLeast(double value, double floor) {
        return value < floor ? fmt("< %.0e", floor) : fmt("%.3g", value);
    }

    private static String rss(long bytes) {
        return bytes < 0 ? "unknown" : fmt("%.1f MiB", bytes / 1048576.0);
    }

    private static String fmt(String format, Object... args) {
        return String.format(Locale.ROOT, format, args);
    }
}
