package dev.gguflens.report;

import dev.gguflens.gguf.UntrustedText;

import dev.gguflens.report.ProbeReport.Expected;
import dev.gguflens.report.ProbeReport.LayerEntry;
import dev.gguflens.report.ProbeReport.Milestone;
import dev.gguflens.report.ProbeReport.TopToken;

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
        out.append("Prompt: ").append(UntrustedText.quotedInFull(r.prompt())).append('\n');
        out.append("Tokens (").append(r.tokens().size()).append("):");
        for (ProbeReport.TokenInfo t : r.tokens()) out.append(' ').append(t.id()).append('=').append(TokenDisplay.quoted(t.text()));
        out.append('\n');
        out.append("Lens: ").append(r.lens()).append('\n');
        List<Expected> tracked = r.layers().isEmpty() ? List.of() : r.layers().getFirst().expected();
        for (Expected e : tracked) {
            out.append("Tracking ").append(TokenDisplay.quoted(e.text())).append(" as token ").append(e.id())
                    .append(' ').append(TokenDisplay.quoted(e.token())).append('\n');
        }
        out.append('\n');

        for (LayerEntry layer : r.layers()) {
            String label = layer.mid() ? fmt("Layer %2d + attn (block %d mid):", layer.layer(), layer.layer())
                    : layer.layer() == 0 ? "Layer  0 (embeddings):" : fmt("Layer %2d (block %d):", layer.layer(), layer.layer() - 1);
            out.append(fmt("%-38s entropy: %.3f nats (%.3f bits)  KL to final: %.3f bits%n",
                    label, layer.entropyNats(), layer.entropyBits(), layer.klToFinalBits()));
            appendTop(out, layer.top());
            for (Expected e : layer.expected()) {
                out.append(fmt("   -> %s: rank %d, p %.4f%n", TokenDisplay.quoted(e.text()), e.rank(), e.p()));
            }
        }

        ProbeReport.FinalPrediction fin = r.finalPrediction();
        out.append(fmt("%nModel's final prediction (entropy: %.3f nats, %.3f bits):%n", fin.entropyNats(), fin.entropyBits()));
        appendTop(out, fin.top());

        ProbeReport.Consistency c = r.consistency();
        out.append(fmt("%nConsistency (lens at last layer vs llama.cpp logits): KL %s bits, max |delta logit| %s, top-1 %s%s%n",
                atLeast(c.klBits(), 1e-9), atLeast(c.maxAbsLogitDiff(), 1e-5), c.top1Agree() ? "agrees" : "DIFFERS",
                c.warning() ? "  WARNING: above 0.01 bits" : ""));

        ProbeReport.Milestones ms = r.milestones();
        out.append("\nMilestones (last position):\n");
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
                    out.append(fmt("  [%s: rank %d, p %.4f]", TokenDisplay.quoted(e.expected()), e.expectedRank(), e.expectedP()));
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
            out.append(fmt("Timings: model load %.1f ms, forward %.1f ms, lens %.1f ms%s, report %.1f ms, peak RSS %.1f MiB%n",
                    t.modelLoadMs(), t.forwardMs(), t.lensMs(), bare, t.reportMs(), t.peakRssBytes() / 1048576.0));
        }
        return out.toString();
    }

    public static void write(ProbeReport r, boolean withTimings, Writer out) throws IOException {
        out.write(render(r, withTimings));
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

    private static String fmt(String format, Object... args) {
        return String.format(Locale.ROOT, format, args);
    }
}
