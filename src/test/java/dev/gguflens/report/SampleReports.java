package dev.gguflens.report;

import dev.gguflens.experiment.ProbeReport;
import dev.gguflens.experiment.ProbeReport.*;
import dev.gguflens.experiment.ProbeReport.Expected;
import dev.gguflens.experiment.ProbeReport.LayerEntry;
import dev.gguflens.experiment.ProbeReport.PositionEntry;
import dev.gguflens.experiment.ProbeReport.TokenInfo;
import dev.gguflens.experiment.ProbeReport.TopToken;

import java.util.ArrayList;
import java.util.List;

/**
 * Hand-built probe reports for the HTML and PNG tests: 5 blocks (6 lens rows, L0..L5) x 12 positions, with
 * tokens that need escaping or visible whitespace. Each tricky token comes with its expected visible form,
 * written out by hand as the independent reference.
 */
final class SampleReports {
    private SampleReports() {}

    static final int N_LAYER = 5;
    static final int ROWS = N_LAYER + 1;
    static final int POSITIONS = 12;
    static final String ANSWER = "\u2581Lily";
    static final int ANSWER_ID = 4242;

    /** A token and how the heatmap must show it. */
    record Tricky(String raw, String shown) {}

    /** Prompt tokens, one per position; also reused as top-1 tokens in the grid. */
    static final List<Tricky> PROMPT = List.of(
            new Tricky("<s>", "<s>"),
            new Tricky(" upon", "\u2423upon"),
            new Tricky("\u2581Once", "\u2581Once"),
            new Tricky("&", "&"),
            new Tricky("<img src=x onerror=alert(1)>", "<img src=x onerror=alert(1)>"),
            new Tricky("\n", "\u21b5"),
            new Tricky("\t", "\u2192"),
            new Tricky("\"q'", "\"q'"),
            new Tricky("\u732b", "\u732b"),
            new Tricky("  ", "\u2423\u2423"),
            new Tricky("a\u0001b x ", "a\\x01b x\u2423"),
            new Tricky("\u2581named", "\u2581named"));

    /** Top-1 token of {@code layer} at {@code pos}: the answer at the last position from layer 4 on, else a tricky token. */
    static Tricky top1(int layer, int pos) {
        if (pos == POSITIONS - 1 && layer >= 4) return new Tricky(ANSWER, ANSWER);
        return PROMPT.get((pos + 3 * layer) % PROMPT.size());
    }

    /** Top-1 probability: grows with depth and varies with position so the grid has many distinct colours. */
    static double p1(int layer, int pos) {
        return Math.min(0.97, 0.04 + 0.17 * layer + 0.013 * pos);
    }

    static ProbeReport withPositions() {
        return build(true);
    }

    static ProbeReport lastPositionOnly() {
        return build(false);
    }

    private static ProbeReport build(boolean allPositions) {
        List<TokenInfo> tokens = new ArrayList<>();
        for (int i = 0; i < POSITIONS; i++) tokens.add(new TokenInfo(100 + i, PROMPT.get(i).raw()));
        List<PositionEntry> positions = new ArrayList<>();
        for (int pos = 0; pos < POSITIONS; pos++) {
            List<LayerEntry> layers = new ArrayList<>();
            for (int layer = 0; layer <= N_LAYER; layer++) layers.add(entry(layer, pos));
            positions.add(new PositionEntry(pos, 100 + pos, PROMPT.get(pos).raw(), layers));
        }
        List<LayerEntry> last = positions.getLast().layers();
        ProbeReport.ModelInfo model = new ProbeReport.ModelInfo("tiny <test> & \"model\"", "/models/tiny.gguf", "llama",
                N_LAYER, 64, 512, 8, 4, 512, "ALL_F32", "F32", 260_000, 1_185_000, backend());
        ProbeReport.FinalPrediction fin = new ProbeReport.FinalPrediction(1.2, 1.2 / Math.log(2), last.getLast().top());
        ProbeReport.Milestones ms = new ProbeReport.Milestones(new ProbeReport.Milestone(4, 0.8), new ProbeReport.Milestone(3, 0.6),
                new ProbeReport.Milestone(2, 0.4), new ProbeReport.Milestone(4, 0.8), ProbeReport.Milestone.never(),
                ProbeReport.Milestone.never(), null);
        List<ProbeReport.ExtraPrompt> extras = List.of(new ProbeReport.ExtraPrompt("Once upon a <time>", ANSWER, ANSWER_ID, 3, 0.11,
                5.5, List.of(new TopToken(7, " there", 0.4), new TopToken(8, "\n", 0.2))));
        List<ProbeReport.TemperaturePoint> temps = List.of(
                new ProbeReport.TemperaturePoint(0.5, 0.9, List.of(new TopToken(ANSWER_ID, ANSWER, 0.9))),
                new ProbeReport.TemperaturePoint(2.0, 6.1, List.of(new TopToken(ANSWER_ID, ANSWER, 0.3))));
        return new ProbeReport(model, "Once upon a time, there was a little girl named", tokens, "norm+unembed",
                last, allPositions ? positions : null, fin,
                new ProbeReport.Consistency(1e-6, 2e-4, true, false), ms, extras, temps,
                new ProbeReport.Timings(12.5, 3.25, 1.5, 1.25, 0.75, 123L << 20));
    }

    private static LayerEntry entry(int layer, int pos) {
        Tricky first = top1(layer, pos);
        int firstId = first.raw().equals(ANSWER) ? ANSWER_ID : 100 + PROMPT.indexOf(first);
        double p = p1(layer, pos);
        List<TopToken> top = new ArrayList<>();
        top.add(new TopToken(firstId, first.raw(), p));
        double rest = 1 - p;
        for (int k = 1; k < 8; k++) {
            rest /= 2;
            top.add(new TopToken(1000 + k, "tok" + k + (k == 2 ? " <&>" : ""), rest));
        }
        // entropy falls with depth: a plausible lens, and the entropy colouring gets a range to show
        double entropyBits = 8.5 - 1.5 * layer + 0.05 * pos;
        int rank = first.raw().equals(ANSWER) ? 1 : 400 / (layer + 1) + pos;
        double answerP = first.raw().equals(ANSWER) ? p : 1e-4 * (layer + 1);
        return new LayerEntry(layer, entropyBits * Math.log(2), entropyBits, top,
                List.of(new Expected(ANSWER, ANSWER_ID, ANSWER, rank, answerP)), 6.0 - layer * 1.2, 0.2 * layer, 3 + layer);
    }

    /** A 3-block report with awkward token texts for the text/CSV/JSON renderer tests. */
    static ProbeReport small() {
        List<TokenInfo> tokens = List.of(new TokenInfo(1, "<s>"), new TokenInfo(42, " Question"), new TokenInfo(7, ":"),
                new TokenInfo(99, " a,b \"c\""), new TokenInfo(5, "\n"));
        List<LayerEntry> layers = new ArrayList<>();
        for (int l = 0; l <= 3; l++) {
            double p1 = 0.2 + 0.2 * l;
            layers.add(new LayerEntry(l, 2.0 - 0.5 * l, (2.0 - 0.5 * l) / Math.log(2),
                    List.of(new TopToken(10 + l, l == 3 ? " Berlin" : "tok" + l, p1), new TopToken(3, "\t|", 0.1)),
                    List.of(new Expected("Berlin", 13, " Berlin", 4 - l, p1 / 2)), 3.0 - l, 0.5 + l / 6.0, 10.0 + l));
        }
        List<PositionEntry> positions = new ArrayList<>();
        for (int p = 0; p < tokens.size(); p++) {
            positions.add(new PositionEntry(p, tokens.get(p).id(), tokens.get(p).text(), layers));
        }
        return new ProbeReport(
                new ModelInfo("tiny", "/tmp/tiny.gguf", "llama", 3, 8, 128, 2, 1, 256, "MOSTLY_Q8_0", "Q8_0", 4096, 12345, backend()),
                "Question: a,b \"c\"\n", tokens, "norm", layers, positions,
                new FinalPrediction(0.5, 0.5 / Math.log(2), List.of(new TopToken(13, " Berlin", 0.8))),
                new Consistency(1e-9, 2e-6, true, false),
                new Milestones(new Milestone(3, 1.0), new Milestone(1, 1 / 3.0), new Milestone(1, 1 / 3.0),
                        new Milestone(2, 2 / 3.0), Milestone.never(), Milestone.never(), null),
                List.of(new ExtraPrompt("Germany's capital is", "Berlin", 13, 1, 0.7, 1.2, List.of(new TopToken(13, " Berlin", 0.7)))),
                List.of(new TemperaturePoint(0.1, 0.0, List.of(new TopToken(13, " Berlin", 1.0)))),
                new Timings(1, 2, 3, null, 4, 5));
    }

    /** A CPU run that was asked for GPU layers: the report shows the line and the warning. */
    static ProbeReport.Backend backend() {
        return new ProbeReport.Backend(List.of("CPU"), List.of("CPU (Test <CPU> & co)"), 99, 0, 5,
                "-ngl 99 asks for layers on a GPU, but no GPU or RPC backend is loaded");
    }
}
