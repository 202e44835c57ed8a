package dev.gguflens.experiment;

/** A value the user gave cannot be used (empty prompt, answer that tokenises to nothing, prompt longer than the context). */
public final class InvalidInputException extends IllegalArgumentException {
    public InvalidInputException(String message) {
        super(message);
    }
}
