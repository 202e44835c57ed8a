package dev.gguflens.experiment;

import java.util.List;

/** A prompt and the answers whose first tokens are tracked through the layers (may be empty). */
public record PromptSpec(String prompt, List<String> expected) {
    public PromptSpec {
        if (prompt == null || prompt.isEmpty()) throw new InvalidInputException("the prompt is empty");
        expected = expected == null ? List.of() : List.copyOf(expected);
    }

    public PromptSpec(String prompt, String... expected) {
        this(prompt, List.of(expected));
    }
}
