package dev.gguflens.experiment;

import java.util.Locale;

/** How an expected answer is followed through the layers. */
public enum AnswerMode {
    /** Its first token after the prompt, at the last prompt position (one forward pass over the prompt). */
    FIRST,
    /**
     * The whole answer: its tokens are appended to the prompt (teacher forcing, same forward pass) and each layer
     * reports the lens log-probability of all of them, each at the position that predicts it.
     */
    SEQUENCE;

    public String optionName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
