package dev.gguflens.cli;

/** A value the user gave is invalid (empty prompt, top-k 0, ...): reported in one line, exit code 2. */
public final class UsageException extends RuntimeException {
    public UsageException(String message) {
        super(message);
    }
}
