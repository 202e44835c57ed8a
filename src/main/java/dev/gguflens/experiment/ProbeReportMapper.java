package dev.gguflens.experiment;

import dev.gguflens.gguf.FileType;
import dev.gguflens.gguf.GgufFile;
import dev.gguflens.gguf.GgufTensor;
import dev.gguflens.gguf.GgufValue;
import dev.gguflens.gguf.GgufValueType;
import dev.gguflens.lens.HeadConsistency;
import dev.gguflens.lens.LensHead;
import dev.gguflens.lens.LensKind;
import dev.gguflens.lens.LensResult;
import dev.gguflens.lens.LogitDistribution;
import dev.gguflens.lens.NormKind;
import dev.gguflens.llama.BackendDevice;
import dev.gguflens.llama.LlamaBackend;
import dev.gguflens.llama.LlamaModel;
import dev.gguflens.llama.GpuPlacement;
import dev.gguflens.llama.Offload;

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
        return layerEntries(result, positionIndex, List.of());
    }

    /** As above; {@code views} (sequence mode, last position) add each answer's whole-answer view per layer. */
    List<ProbeReport.LayerEntry> layerEntries(LensResult result, int positionIndex, List<Probe.AnswerView> views) {
        List<ProbeReport.LayerEntry> entries = new ArrayList<>(result.layers());
        for (int layer = 0; layer < result.layers(); layer++) {
            LensResult.LayerRecord r = result.record(layer, positionIndex);
            List<ProbeReport.Expected> expected = new ArrayList<>(r.tracked().size());
            for (int k = 0; k < r.tracked().size(); k++) {
                LensResult.TrackedRank t = r.tracked().get(k);
                Probe.AnswerView v = k < views.size() ? views.get(k) : null;
                expected.add(new ProbeReport.Expected(t.text(), t.id(), texts.text(t.id()), t.rank(), t.probability(),
                        v == null ? null : v.logProb()[layer], v == null ? null : v.worstRank()[layer]));
            }
            entries.add(new ProbeReport.LayerEntry(layer, r.entropyNats(), r.entropyBits(), top(r.topK()), expected,
                    r.klToFinalBits(), r.cosToFinal(), r.residualNorm()));
        }
        return entries;
    }

    /** With every position requested: one entry per position, each with all its layers. */
    List<ProbeReport.PositionEntry> positionEntries(LensResult result, int[] positions, int[] tokens) {
        return positionEntries(result, null, positions, tokens, List.of());
    }

    /** As above; with {@code mid} (the lens over the mid-block states) each block's mid row sits between its layers. */
    List<ProbeReport.PositionEntry> positionEntries(LensResult result, LensResult mid, int[] positions, int[] tokens,
                                                    List<Probe.AnswerView> views) {
        List<ProbeReport.PositionEntry> out = new ArrayList<>(positions.length);
        for (int i = 0; i < positions.length; i++) {
            int pos = positions[i];
            out.add(new ProbeReport.PositionEntry(pos, tokens[pos], texts.text(tokens[pos]),
                    layerEntries(result, mid, i, i == positions.length - 1 ? views : List.of())));
        }
        return out;
    }

    /**
     * Layer 0, block 0's mid row, layer 1, block 1's mid row, ... layer n; without {@code mid} the residual layers
     * alone. A mid row carries the layer it starts from (block i's input, layer i) and site {@code mid}.
     */
    List<ProbeReport.LayerEntry> layerEntries(LensResult result, LensResult mid, int positionIndex) {
        return layerEntries(result, mid, positionIndex, List.of());
    }

    /** As above, the residual rows with the whole-answer {@code views} (mid rows carry none). */
    List<ProbeReport.LayerEntry> layerEntries(LensResult result, LensResult mid, int positionIndex, List<Probe.AnswerView> views) {
        List<ProbeReport.LayerEntry> residual = layerEntries(result, positionIndex, views);
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

    /** An extra prompt's final distribution; {@code answer} (its tokens; the first is tracked) is null without one. */
    ProbeReport.ExtraPrompt extraPrompt(PromptSpec spec, LogitDistribution d, int[] answer) {
        String expected = spec.expected().isEmpty() ? null : spec.expected().getFirst();
        Integer expectedId = answer == null ? null : answer[0];
        Integer rank = expectedId == null ? null : d.rank(expectedId);
        Double p = expectedId == null ? null : d.probability(expectedId);
        return new ProbeReport.ExtraPrompt(spec.prompt(), expected, expectedId, rank, p, d.entropyBits(), top(d.top(topK)),
                answer == null ? null : answer.length);
    }

    /** The lens-vs-llama.cpp gap at the last position, split by {@link HeadConsistency}; it decides the warning. */
    static ProbeReport.Consistency consistency(LensResult.PositionConsistency c, HeadConsistency split) {
        return new ProbeReport.Consistency(c.klBits(), c.maxAbsLogitDiff(), c.top1Agree(), split.warning(),
                split.activationType().name(), split.expectedKlBits(), split.expectedMaxAbsLogitDiff(),
                split.unexplainedKlBits(), split.unexplainedMaxAbsLogitDiff(), HeadConsistency.WARNING_BITS);
    }

    /** Sequence mode: the rank milestones follow the whole answer (its worst token rank at each layer). */
    static ProbeReport.Milestones withAnswerRanks(ProbeReport.Milestones m, int[] worstRank) {
        return new ProbeReport.Milestones(firstLayer(worstRank, 1), firstLayer(worstRank, 5), firstLayer(worstRank, 10),
                m.firstKlBelow1Bit(), m.firstKlBelowHalfBit(), m.copyCollapse(), m.copyCollapseToken());
    }

    private static ProbeReport.Milestone firstLayer(int[] rank, int atMost) {
        double depth = Math.max(1, rank.length - 1);
        for (int layer = 0; layer < rank.length; layer++) {
            if (rank[layer] <= atMost) return new ProbeReport.Milestone(layer, layer / depth);
        }
        return ProbeReport.Milestone.never();
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
                model.trainedContextLength(), fileType, outputType, params, file.fileSize(), backend(model.offload()));
    }

    /** The devices that held layers (the CPU always computes the rest, and the lens), and any -ngl warning. */
    static ProbeReport.Backend backend(Offload offload) {
        List<String> backends = new ArrayList<>();
        List<String> devices = new ArrayList<>();
        if (offload.offloaded() > 0) {
            for (BackendDevice d : offload.devices()) {
                if (!backends.contains(d.backend())) backends.add(d.backend());
                devices.add(d.label());
            }
        }
        backends.add("CPU");
        devices.add(LlamaBackend.devices().stream().filter(d -> d.type().equals("cpu")).map(BackendDevice::label)
                .findFirst().orElse("CPU"));
        GpuPlacement placement = offload.placement();
        return new ProbeReport.Backend(backends, devices, offload.requested(), offload.offloaded(), offload.total(),
                offload.warning(), placement.splitMode() == null ? null : placement.splitMode().llamaName(), placement.mainGpu());
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
