package dev.gguflens.experiment;

import dev.gguflens.gguf.FileType;
import dev.gguflens.gguf.GgufFile;
import dev.gguflens.gguf.GgufTensor;
import dev.gguflens.gguf.GgufValue;
import dev.gguflens.gguf.GgufValueType;
import dev.gguflens.lens.LensHead;
import dev.gguflens.lens.LensKind;
import dev.gguflens.lens.LensResult;
import dev.gguflens.lens.LogitDistribution;
import dev.gguflens.lens.NormKind;
import dev.gguflens.llama.LlamaModel;
import dev.gguflens.report.ProbeReport;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Lens results in the report's terms: token ids become the texts a person reads, the lens's records become
 * {@link ProbeReport}'s entries, milestones and consistency, the GGUF and llama.cpp's model its model info.
 * Holds no state but the token texts and top-k; the probe's flow is {@link Probe}.
 */
final class ProbeReportMapper {
    /** Above this KL between the lens at the last layer and llama.cpp's logits, the report warns. */
    static final double CONSISTENCY_WARNING_BITS = 0.01;

    private final TokenTexts texts;
    private final int topK;

    ProbeReportMapper(TokenTexts texts, int topK) {
        this.texts = texts;
        this.topK = topK;
    }

    List<ProbeReport.TokenInfo> tokens(int[] ids) {
        List<ProbeReport.TokenInfo> out = new ArrayList<>(ids.length);
        for (int id : ids) out.add(new ProbeReport.TokenInfo(id, texts.text(id)));
        return out;
    }

    /** Every layer's record at one requested position (an index into the request's positions). */
    List<ProbeReport.LayerEntry> layerEntries(LensResult result, int positionIndex) {
        List<ProbeReport.LayerEntry> entries = new ArrayList<>(result.layers());
        for (int layer = 0; layer < result.layers(); layer++) {
            LensResult.LayerRecord r = result.record(layer, positionIndex);
            List<ProbeReport.Expected> expected = r.tracked().stream()
                    .map(t -> new ProbeReport.Expected(t.text(), t.id(), texts.text(t.id()), t.rank(), t.probability()))
                    .toList();
            entries.add(new ProbeReport.LayerEntry(layer, r.entropyNats(), r.entropyBits(), top(r.topK()), expected,
                    r.klToFinalBits(), r.cosToFinal(), r.residualNorm()));
        }
        return entries;
    }

    /** With every position requested: one entry per position, each with all its layers. */
    List<ProbeReport.PositionEntry> positionEntries(LensResult result, int[] positions, int[] tokens) {
        return positionEntries(result, null, positions, tokens);
    }

    /** As above; with {@code mid} (the lens over the mid-block states) each block's mid row sits between its layers. */
    List<ProbeReport.PositionEntry> positionEntries(LensResult result, LensResult mid, int[] positions, int[] tokens) {
        List<ProbeReport.PositionEntry> out = new ArrayList<>(positions.length);
        for (int i = 0; i < positions.length; i++) {
            int pos = positions[i];
            out.add(new ProbeReport.PositionEntry(pos, tokens[pos], texts.text(tokens[pos]), layerEntries(result, mid, i)));
        }
        return out;
    }

    /**
     * Layer 0, block 0's mid row, layer 1, block 1's mid row, ... layer n; without {@code mid} the residual layers
     * alone. A mid row carries the layer it starts from (block i's input, layer i) and site {@code mid}.
     */
    List<ProbeReport.LayerEntry> layerEntries(LensResult result, LensResult mid, int positionIndex) {
        List<ProbeReport.LayerEntry> residual = layerEntries(result, positionIndex);
        if (mid == null) return residual;
        List<ProbeReport.LayerEntry> mids = layerEntries(mid, positionIndex);
        List<ProbeReport.LayerEntry> out = new ArrayList<>(residual.size() + mids.size());
        for (int layer = 0; layer < residual.size(); layer++) {
            out.add(residual.get(layer));
            if (layer < mids.size()) out.add(mids.get(layer).asMid());
        }
        return out;
    }

    List<ProbeReport.TopToken> top(List<LensResult.TokenProbability> tokens) {
        return tokens.stream().map(t -> new ProbeReport.TopToken(t.id(), texts.text(t.id()), t.probability())).toList();
    }

    ProbeReport.FinalPrediction finalPrediction(LogitDistribution d) {
        return new ProbeReport.FinalPrediction(d.entropyNats(), d.entropyBits(), top(d.top(topK)));
    }

    ProbeReport.TemperaturePoint temperaturePoint(double temperature, LogitDistribution d) {
        return new ProbeReport.TemperaturePoint(temperature, d.entropyBits(), top(d.top(topK)));
    }

    /** An extra prompt's final distribution; {@code expectedId} is null without an expected answer. */
    ProbeReport.ExtraPrompt extraPrompt(PromptSpec spec, LogitDistribution d, Integer expectedId) {
        String expected = spec.expected().isEmpty() ? null : spec.expected().getFirst();
        Integer rank = expectedId == null ? null : d.rank(expectedId);
        Double p = expectedId == null ? null : d.probability(expectedId);
        return new ProbeReport.ExtraPrompt(spec.prompt(), expected, expectedId, rank, p, d.entropyBits(), top(d.top(topK)));
    }

    static ProbeReport.Consistency consistency(LensResult.PositionConsistency c) {
        return new ProbeReport.Consistency(c.klBits(), c.maxAbsLogitDiff(), c.top1Agree(), c.klBits() > CONSISTENCY_WARNING_BITS);
    }

    ProbeReport.Milestones milestones(LensResult.Milestones m) {
        var copy = m.copyCollapse();
        return new ProbeReport.Milestones(milestone(m.firstRank1()), milestone(m.firstRankAtMost5()),
                milestone(m.firstRankAtMost10()), milestone(m.firstKlBelow1Bit()), milestone(m.firstKlBelowHalfBit()),
                copy.map(c -> new ProbeReport.Milestone(c.layer(), c.depthFraction())).orElse(ProbeReport.Milestone.never()),
                copy.map(c -> texts.text(c.tokenId())).orElse(null));
    }

    private static ProbeReport.Milestone milestone(Optional<LensResult.Milestone> m) {
        return m.map(x -> new ProbeReport.Milestone(x.layer(), x.depthFraction())).orElse(ProbeReport.Milestone.never());
    }

    static String lensDescription(LensKind kind, LensHead head) {
        return switch (kind) {
            case NORM -> String.format(Locale.ROOT, "norm (the model's final %s with its weight, eps %.3g, recomputed per layer)",
                    head.norm() == NormKind.RMS_NORM ? "RMSNorm" : "LayerNorm", head.epsilon());
            case RAW -> "raw (no normalisation)";
            case RMS -> String.format(Locale.ROOT, "rms (RMS scaling without the norm weight, eps %.3g)", head.epsilon());
        };
    }

    /** The report's model description, from the GGUF's metadata and llama.cpp's loaded model. */
    static ProbeReport.ModelInfo modelInfo(GgufFile file, LlamaModel model) {
        var hp = file.hyperparameters();
        String arch = hp.architecture();
        long params = file.tensors().stream().mapToLong(GgufTensor::elementCount).sum();
        String outputType = file.tensor("output.weight").or(() -> file.tensor("token_embd.weight"))
                .map(t -> t.type().name()).orElse("?");
        String fileType = hp.fileType().isPresent() ? FileType.name(hp.fileType().getAsInt()) : guessedFileType(file);
        String name = file.path().getFileName().toString().replaceFirst("(?i)(-\\d{5}-of-\\d{5})?\\.gguf$", "");
        return new ProbeReport.ModelInfo(name, file.path().toString(), arch, hp.blockCount(), hp.embeddingLength(),
                model.vocabSize(), scalar(file, arch + ".attention.head_count"), scalar(file, arch + ".attention.head_count_kv"),
                model.trainedContextLength(), fileType, outputType, params, file.fileSize());
    }

    /** Without general.file_type: the type most of the 2-D weights use, marked as a guess. */
    private static String guessedFileType(GgufFile file) {
        return file.tensors().stream().filter(t -> t.dimensions() >= 2)
                .collect(Collectors.groupingBy(t -> t.type().name(), Collectors.summingLong(GgufTensor::elementCount)))
                .entrySet().stream().max(Map.Entry.comparingByValue())
                .map(e -> e.getKey() + " (guessed)").orElse("unknown");
    }

    /** An integer hyperparameter, or null when absent or per-layer (an array). */
    private static Integer scalar(GgufFile file, String key) {
        return file.get(key).filter(v -> v.type() != GgufValueType.ARRAY).map(GgufValue::asLong).map(Math::toIntExact)
                .orElse(null);
    }
}
