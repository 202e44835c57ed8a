package dev.gguflens.llama;

/** A failure reported by llama.cpp (or by the binding around it); the message is one line and carries llama.cpp's own words. */
public class LlamaException extends RuntimeException {
    public LlamaException(String message) {
        super(message.replace('\n', ' '));
    }

    public LlamaException(String message, Throwable cause) {
        super(message.replace('\n', ' '), cause);
    }
}
