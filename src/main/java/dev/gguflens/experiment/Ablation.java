package dev.gguflens.experiment;

import dev.gguflens.lens.LogitDistribution;
import dev.gguflens.llama.Capture;
import dev.gguflens.llama.CaptureRequest;
import dev.gguflens.llama.Intervention;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * Zero- or mean-ablation of attention heads (column slices of {@code kqv_out-i}, before the output projection) or
 * MLP neurons (columns of the activation that enters the down projection), at every position of the prompt.
 */
public final class Ablation {
    /** Activation tensors before the down projection, in the order they are preferred when several exist (llama-graph.cpp build_ffn). */
    static final List<String> ACTIVATION_NAMES = List.of("ffn_gate_par", "ffn_act", "ffn_swiglu", "ffn_swiglu_limited",
            "ffn_swiglu_oai", "ffn_geglu", "ffn_reglu", "ffn_gelu", "ffn_silu", "ffn_relu");

    public enum Kind { HEADS, NEURONS }

    /** Block and head (or neuron) index. */
    public record Target(int block, int index) {
        /** "27.3" for heads, "12:1033" for neurons. */
        public static Target parse(Kind kind, String text) {
            String sep = kind == Kind.HEADS ? "." : ":";
            String field = kind == Kind.HEADS ? "heads" : "neurons";
            int at = text.indexOf(sep);
            try {
                if (at <= 0) throw new NumberFormatException();
                int block = Integer.parseInt(text.substring(0, at).strip()), index = Integer.parseInt(text.substring(at + 1).strip());
                if (block < 0 || index < 0) throw new NumberFormatException();
                return new Target(block, index);
            } catch (NumberFormatException e) {
                throw new InvalidInputException(field, text, "is not BLOCK" + sep + "INDEX with two non-negative integers");
            }
        }

        String label(Kind kind) {
            return block + (kind == Kind.HEADS ? "." : ":") + index;
        }
    }

    private Ablation() {}

    public static AblationReport run(ModelSession session, String prompt, String answer, Kind kind, List<Target> targets,
                                     List<String> meanOver, int topK) {
        if (targets.isEmpty()) throw new InvalidInputException(kind == Kind.HEADS ? "heads" : "neurons", "", "names nothing to ablate");
        int[] tokens = session.tokenizePrompt(prompt);
        int answerId = session.trackedToken(prompt, tokens, answer).id();
        int blocks = session.model().layerCount();
        ProbeReport.ModelInfo info = Probe.modelInfo(session);
        String field = kind == Kind.HEADS ? "heads" : "neurons";
        for (Target t : targets) {
            if (t.block() >= blocks) throw new InvalidInputException(field, t.label(kind), "names block " + t.block() + "; the model has " + blocks);
        }
        // Which tensor each target's block writes, and its width, from one plain run that also gives the baseline.
        List<String> candidates = new ArrayList<>();
        for (Target t : targets) {
            if (kind == Kind.HEADS) candidates.add("kqv_out-" + t.block());
            else for (String name : ACTIVATION_NAMES) candidates.add(name + "-" + t.block());
        }
        Map<String, List<Integer>> columnsByTensor = new LinkedHashMap<>();
        AblationReport.Outcome before;
        try (Capture plain = session.capture(tokens, new CaptureRequest(false, false, true, candidates.stream().distinct().toList()))) {
            before = outcome(session, plain.logitsArray(tokens.length - 1), answerId, topK);
            for (Target t : targets) {
                String tensor = kind == Kind.HEADS ? "kqv_out-" + t.block()
                        : ACTIVATION_NAMES.stream().map(n -> n + "-" + t.block()).filter(n -> plain.extraWidth(n) > 0).findFirst()
                        .orElseThrow(() -> new UnsupportedOperationException("block " + t.block() + " of this " + session.model().architecture()
                                + " graph names no MLP activation (" + String.join(", ", ACTIVATION_NAMES) + ")"));
                int width = plain.extraWidth(tensor);
                if (width == 0) throw new UnsupportedOperationException("this model's graph has no tensor " + tensor);
                List<Integer> cols = columnsByTensor.computeIfAbsent(tensor, k -> new ArrayList<>());
                if (kind == Kind.HEADS) {
                    Integer heads = info.nHead();
                    if (heads == null || heads < 1 || width % heads != 0) {
                        throw new UnsupportedOperationException(tensor + " of width " + width + " does not split into the model's heads");
                    }
                    if (t.index() >= heads) throw new InvalidInputException(field, t.label(kind), "names head " + t.index() + "; blocks have " + heads);
                    int headDim = width / heads;
                    for (int c = t.index() * headDim; c < (t.index() + 1) * headDim; c++) if (!cols.contains(c)) cols.add(c);
                } else {
                    if (t.index() >= width) throw new InvalidInputException(field, t.label(kind), "names neuron " + t.index() + "; " + tensor + " has " + width);
                    if (!cols.contains(t.index())) cols.add(t.index());
                }
            }
        }
        Map<String, float[]> values = new LinkedHashMap<>();
        columnsByTensor.forEach((tensor, cols) -> values.put(tensor, new float[cols.size()]));
        if (!meanOver.isEmpty()) meanValues(session, meanOver, columnsByTensor, values);
        int[] all = IntStream.range(0, tokens.length).toArray();
        List<Intervention> interventions = new ArrayList<>();
        columnsByTensor.forEach((tensor, cols) -> interventions.add(Intervention.setColumns(tensor, all,
                cols.stream().mapToInt(Integer::intValue).toArray(), values.get(tensor))));
        AblationReport.Outcome after;
        try (Capture ablated = session.capture(tokens, new CaptureRequest(false, false, true, List.of()), interventions)) {
            after = outcome(session, ablated.logitsArray(tokens.length - 1), answerId, topK);
        }
        return new AblationReport(info, prompt, answer, answerId, session.tokenText(answerId),
                kind == Kind.HEADS ? "heads" : "neurons", targets.stream().map(t -> t.label(kind)).toList(),
                List.copyOf(columnsByTensor.keySet()), meanOver.isEmpty() ? "zero" : "mean", meanOver.size(), before, after);
    }

    /** The mean of each ablated column over every position of the {@code prompts}. */
    private static void meanValues(ModelSession session, List<String> prompts, Map<String, List<Integer>> columnsByTensor,
                                   Map<String, float[]> values) {
        Map<String, double[]> sums = new LinkedHashMap<>();
        columnsByTensor.forEach((tensor, cols) -> sums.put(tensor, new double[cols.size()]));
        long positions = 0;
        for (String prompt : prompts) {
            int[] tokens = session.tokenizePrompt(prompt);
            try (Capture c = session.capture(tokens, new CaptureRequest(false, false, false, List.copyOf(columnsByTensor.keySet())))) {
                for (var e : columnsByTensor.entrySet()) {
                    double[] sum = sums.get(e.getKey());
                    for (int pos = 0; pos < tokens.length; pos++) {
                        MemorySegment row = c.extra(e.getKey(), pos).orElseThrow();
                        for (int k = 0; k < sum.length; k++) sum[k] += row.getAtIndex(ValueLayout.JAVA_FLOAT, e.getValue().get(k));
                    }
                }
            }
            positions += tokens.length;
        }
        for (var e : sums.entrySet()) {
            float[] v = values.get(e.getKey());
            for (int k = 0; k < v.length; k++) v[k] = (float) (e.getValue()[k] / positions);
        }
    }

    private static AblationReport.Outcome outcome(ModelSession session, float[] logits, int answerId, int topK) {
        LogitDistribution d = LogitDistribution.of(logits);
        List<ProbeReport.TopToken> top = d.top(topK).stream()
                .map(t -> new ProbeReport.TopToken(t.id(), session.tokenText(t.id()), t.probability())).toList();
        return new AblationReport.Outcome(d.probability(answerId), d.rank(answerId), top);
    }
}
