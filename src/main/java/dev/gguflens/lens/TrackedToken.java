package dev.gguflens.lens;

/** A token whose rank and probability are followed through the layers; the caller picks the id. */
public record TrackedToken(String text, int id) {
    public TrackedToken {
        if (id < 0) throw new IllegalArgumentException("tracked token '" + text + "': id " + id + " is negative");
    }
}
