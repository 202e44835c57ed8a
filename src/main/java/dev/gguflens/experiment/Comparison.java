package dev.gguflens.experiment;

import dev.gguflens.experiment.CompareReport.Layer;
import dev.gguflens.experiment.CompareReport.LayerComparison;
import dev.gguflens.experiment.CompareReport.PromptInfo;
import dev.gguflens.experiment.CompareReport.PromptResult;
import dev.gguflens.experiment.CompareReport.Variant;
import dev.gguflens.experiment.CompareReport.VariantSummary;
import dev.gguflens.gguf.GgufFile;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Runs the same prompts through several models that differ only in their weights (typically one model and
 * its quantisations) and compares every layer's lens with the reference model's. One model is in memory at
 * a time: the reference runs first, and what the others are compared against is kept from it - per prompt
 * its lens log-probabilities at the last position for every layer (float32, (n_layer + 1) x n_vocab x 4 B:
 * 37 x 151936 x 4 B = 22 MB per prompt for Qwen3-8B) and its residual states there (n_layer + 1) x n_embd.
 */
public final class Comparison {
    /** Called after each (model, prompt) run: {@code done} of {@code total} runs finished. */
    @FunctionalInterface
    public interface Progress {
        void update(long done, long total);
    }

    private Comparison() {}

    /**
     * @param models         the models, in report order
     * @param referenceIndex which of them the others are compared with
     */
    public static CompareReport run(List<Path> models, int referenceIndex, List<PromptSpec> prompts,
                                    ProbeSettings settings, Progress progress) {
        if (models.size() < 2) throw new InvalidInputException("compare needs at least two models, got " + models.size());
        if (referenceIndex < 0 || referenceIndex >= models.size()) {
            throw new IllegalArgumentException("reference index " + referenceIndex + " outside the " + models.size() + " models");
        }
        if (prompts.isEmpty()) throw new InvalidInputException("compare needs at least one prompt");
        if (settings.allPositions()) throw new InvalidInputException("compare works at the last position only");
        checkCompatible(models, referenceIndex);

        long total = (long) models.size() * prompts.size();
        long[] done = {0};
        Progress step = progress == null ? (d, t) -> { } : progress;

        // The reference first: its rows are what every other model is compared with.
        List<Probe.Run> referenceRuns = new ArrayList<>();
        Variant[] variants = new Variant[models.size()];
        Set<String> names = new HashSet<>();
        String[] nameOf = new String[models.size()];
        List<Integer> order = new ArrayList<>();
        order.add(referenceIndex);
        for (int i = 0; i < models.size(); i++) if (i != referenceIndex) order.add(i);

        for (int index : order) {
            try (ModelSession session = ModelSession.open(models.get(index), settings, null, true)) {
                List<PromptResult> results = new ArrayList<>();
                for (int p = 0; p < prompts.size(); p++) {
                    Probe.Run run = Probe.run(session, prompts.get(p), List.of(), true, false);
                    Probe.Run ref;
                    if (index == referenceIndex) {
                        referenceRuns.add(run);
                        ref = run;
                    } else {
                        ref = referenceRuns.get(p);
                    }
                    results.add(promptResult(p, run, ref, settings.topK()));
                    step.update(++done[0], total);
                }
                ProbeReport.ModelInfo info = Probe.modelInfo(session);
                nameOf[index] = unique(info.name(), names);
                variants[index] = new Variant(nameOf[index], info.file(), index == referenceIndex, info.fileType(),
                        info.outputWeightType(), info.fileBytes(), info.nParams(), 8.0 * info.fileBytes() / info.nParams(),
                        session.loadMillis(), results, session.kvCache(), info.backend());
            }
        }

        List<PromptResult> referenceResults = variants[referenceIndex].prompts();
        List<VariantSummary> summary = new ArrayList<>();
        for (Variant v : variants) summary.add(ComparisonAggregate.summarize(v.name(), v.prompts(), referenceResults));
        List<PromptInfo> promptInfos = new ArrayList<>();
        for (int p = 0; p < prompts.size(); p++) {
            PromptSpec spec = prompts.get(p);
            List<ProbeReport.Answer> answers = referenceRuns.get(p).report().answers();
            ProbeReport.Answer answer = answers == null || answers.isEmpty() ? null : answers.getFirst();
            promptInfos.add(new PromptInfo(p, spec.prompt(), spec.expected().isEmpty() ? null : spec.expected().getFirst(),
                    answer == null ? null : answer.tokens(), answer != null && answer.multiToken()));
        }
        String lens = referenceRuns.getFirst().report().lens();
        return new CompareReport(nameOf[referenceIndex], lens, settings.topK(), settings.answerMode().optionName(), promptInfos,
                List.of(variants), summary);
    }

    /** Opens each file's metadata only (no weights are read) and refuses on the first mismatch. */
    static void checkCompatible(List<Path> models, int referenceIndex) {
        try (GgufFile reference = GgufFile.open(models.get(referenceIndex))) {
            for (int i = 0; i < models.size(); i++) {
                if (i == referenceIndex) continue;
                try (GgufFile other = GgufFile.open(models.get(i))) {
                    ComparisonCheck.requireCompatible(reference, other);
                }
            }
        }
    }

    private static PromptResult promptResult(int prompt, Probe.Run run, Probe.Run reference, int topK) {
        List<ProbeReport.LayerEntry> entries = run.report().layers();
        if (entries.size() != reference.report().layers().size()) {
            throw new IllegalStateException("prompt " + prompt + ": " + entries.size() + " layers vs the reference's "
                    + reference.report().layers().size());
        }
        List<Layer> layers = new ArrayList<>(entries.size());
        for (int layer = 0; layer < entries.size(); layer++) {
            LayerComparison c = ComparisonMetrics.compare(layer, run.lastLogProbs()[layer], reference.lastLogProbs()[layer],
                    topK, run.lastResiduals()[layer], reference.lastResiduals()[layer]);
            layers.add(new Layer(entries.get(layer), c));
        }
        return new PromptResult(prompt, layers, run.report().milestones(),
                ComparisonAggregate.shift(run.report().milestones(), reference.report().milestones()));
    }

    private static String unique(String name, Set<String> used) {
        String candidate = name;
        for (int i = 2; !used.add(candidate); i++) candidate = name + "-" + i;
        return candidate;
    }
}
