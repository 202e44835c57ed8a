package dev.gguflens.llama;

/** Model-loading progress, 0..1, called on the loading thread. Returning false cancels the load. */
@FunctionalInterface
public interface ProgressListener {
    boolean onProgress(float fraction);
}
