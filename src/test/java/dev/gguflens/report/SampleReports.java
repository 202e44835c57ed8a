package dev.gguflens.report;

import dev.gguflens.report.ProbeReport.*;

import java.util.ArrayList;
import java.util.List;

/** Hand-made probe reports with awkward token texts, for the renderer tests. */
final class SampleReports {
    private SampleReports() {}

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
                new ModelInfo("tiny", "/tmp/tiny.gguf", "llama", 3, 8, 128, 2, 1, 256, "MOSTLY_Q8_0", "Q8_0", 4096, 12345),
                "Question: a,b \"c\"\n", tokens, "norm", layers, positions,
                new FinalPrediction(0.5, 0.5 / Math.log(2), List.of(new TopToken(13, " Berlin", 0.8))),
                new Consistency(1e-9, 2e-6, true, false),
                new Milestones(new Milestone(3, 1.0), new Milestone(1, 1 / 3.0), new Milestone(1, 1 / 3.0),
                        new Milestone(2, 2 / 3.0), Milestone.never(), Milestone.never(), null),
                List.of(new ExtraPrompt("Germany's capital is", "Berlin", 13, 1, 0.7, 1.2, List.of(new TopToken(13, " Berlin", 0.7)))),
                List.of(new TemperaturePoint(0.1, 0.0, List.of(new TopToken(13, " Berlin", 1.0)))),
                new Timings(1, 2, 3, 4, 5));
    }
}
