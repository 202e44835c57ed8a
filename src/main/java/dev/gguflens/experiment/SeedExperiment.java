package dev.gguflens.experiment;

import java.util.List;

/**
 * The experiment of the seed write-up (a TransformerLens probe of Qwen3-8B), run when no prompt is given:
 * the main prompt with its expected answer, the paraphrase prompts and the temperature sweep.
 */
public final class SeedExperiment {
    public static final PromptSpec MAIN = new PromptSpec("Question: What is the capital of Germany? Answer:", "Berlin");

    public static final List<PromptSpec> EXTRA_PROMPTS = List.of(
            new PromptSpec("Germany's capital is", "Berlin"),
            new PromptSpec("Berlin is the capital of", "Germany"),
            new PromptSpec("Respond in one word: which city is the capital of Germany?", "Berlin"));

    public static final List<Double> TEMPERATURES = List.of(0.1, 2.0);

    private SeedExperiment() {}
}
