package dev.gguflens.cli;

import java.util.Map;

/**
 * How the CLI spells the input fields that the layers below it name in their errors
 * ({@link dev.gguflens.experiment.InvalidInputException#field()}): top_k is {@code --top-k}, threads {@code -t}.
 * A field without a spelling here is printed as it is.
 */
final class FlagNames {
    private static final Map<String, String> FLAGS = Map.ofEntries(
            Map.entry("top_k", "--top-k"),
            Map.entry("threads", "-t"),
            Map.entry("context_size", "-c"),
            Map.entry("gpu_layers", "-ngl"),
            Map.entry("main_gpu", "--main-gpu"),
            Map.entry("split_mode", "--split-mode"),
            Map.entry("temperatures", "--temperatures"),
            Map.entry("positions", "--positions"),
            Map.entry("prompt", "the prompt"),
            Map.entry("prompts", "--prompts"),
            Map.entry("expected", "--expect"),
            Map.entry("other", "--vs"),
            Map.entry("position", "--position"),
            Map.entry("suite", "--suite"),
            Map.entry("quantize_types", "--quantize"),
            Map.entry("weight_types", "--types"),
            Map.entry("batch_sizes", "--m"),
            Map.entry("repetitions", "--reps"),
            Map.entry("warmup", "--warmup"),
            Map.entry("rows", "--rows"),
            Map.entry("cols", "--cols"),
            Map.entry("batch_size", "--batch"),
            Map.entry("heads", "--heads"),
            Map.entry("neurons", "--neurons"),
            Map.entry("kv_type", "--kv-type"),
            Map.entry("answer_mode", "--answer-mode"));

    /** Where one command spells a field otherwise: quantize takes its type as the positional TYPE. */
    private static final Map<String, Map<String, String>> BY_COMMAND = Map.of(
            "quantize", Map.of("quantize_types", "TYPE"));

    private FlagNames() {}

    /** The flag for {@code field} in {@code command} (the subcommand's name, may be null). */
    static String of(String command, String field) {
        String own = BY_COMMAND.getOrDefault(command == null ? "" : command, Map.of()).get(field);
        return own != null ? own : FLAGS.getOrDefault(field, field);
    }
}
