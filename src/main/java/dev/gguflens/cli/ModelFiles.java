package dev.gguflens.cli;

import dev.gguflens.download.DownloadException;
import dev.gguflens.download.ModelResolver;
import dev.gguflens.experiment.ModelSession;
import dev.gguflens.experiment.ProbeSettings;
import dev.gguflens.llama.ProgressListener;

import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** What the commands share for -m: model arguments to local files (downloading hub references), and loading with a bar. */
final class ModelFiles {
    private ModelFiles() {}

    /**
     * Local paths for -m values (the default model when none is given): files are checked to exist, hub
     * references are downloaded (or found in the models folder); a split model is named by its first shard.
     */
    static List<Path> resolve(List<String> modelArgs, PrintWriter err, boolean quiet) {
        List<String> args = modelArgs.isEmpty() ? List.of(ModelResolver.DEFAULT_MODEL) : modelArgs;
        List<Path> files = new ArrayList<>();
        for (String arg : args) {
            List<Path> shards;
            try {
                shards = ModelResolver.resolve(arg, ProgressBar.downloadListener(err, quiet));
            } catch (DownloadException e) {
                throw new UncheckedIOException(e.getMessage(), e);
            }
            Path first = shards.getFirst();
            dev.gguflens.gguf.InputFiles.requireRegularFile(first);
            files.add(first);
        }
        return files;
    }

    /** Opens a model session, drawing llama.cpp's load progress as a bar on a terminal. */
    static ModelSession open(Path model, ProbeSettings settings, PrintWriter err, boolean quiet) {
        return open(model, settings, err, quiet, false);
    }

    /** As {@link #open(Path, ProbeSettings, PrintWriter, boolean)}; {@code warmLens}: see {@link ModelSession#open}. */
    static ModelSession open(Path model, ProbeSettings settings, PrintWriter err, boolean quiet, boolean warmLens) {
        ModelSession session;
        try (ProgressBar bar = ProgressBar.start("loading " + model.getFileName(), 1000, ProgressBar.Unit.COUNT, err, quiet)) {
            ProgressListener progress = fraction -> {
                bar.update(Math.round(fraction * 1000));
                return true;
            };
            session = ModelSession.open(model, settings, bar.enabled() ? progress : null, warmLens);
        }
        if (!quiet) session.notes().forEach(note -> err.println("gguf-lens: note: " + note));
        String warning = session.model().offload().warning();
        if (warning != null) err.println("gguf-lens: warning: " + warning);
        err.flush();
        return session;
    }
}
