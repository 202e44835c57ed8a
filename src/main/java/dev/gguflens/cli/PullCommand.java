package dev.gguflens.cli;

import dev.gguflens.download.HubConfig;
import dev.gguflens.download.ModelRef;
import dev.gguflens.download.ModelResolver;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code gguf-lens pull REPO[:QUANT]}: downloads a GGUF from the Hugging Face hub and prints its local path(s). */
@Command(
        name = "pull",
        mixinStandardHelpOptions = true,
        description = {
                "Download a GGUF model from the Hugging Face hub (resumable, sha256-verified) and print its local path(s).",
                "Environment: GGUF_LENS_MODELS (models folder), HF_TOKEN (gated/private repositories), "
                        + "GGUF_LENS_HF_ENDPOINT (hub mirror, default " + HubConfig.DEFAULT_ENDPOINT + ")."},
        footer = {"", "Examples:",
            "  gguf-lens pull Qwen/Qwen3-8B-GGUF            (Q4_K_M)",
            "  gguf-lens pull hf://Qwen/Qwen3-8B-GGUF:Q8_0 --models-dir ~/models",
            "", "An interrupted download resumes where it stopped when the command is run again.",
            "Exit codes: 0 success, 1 download failed (unreachable, 404, checksum), 2 invalid usage."})
public final class PullCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "REPO[:QUANT]",
            description = "hf://OWNER/REPO[:QUANT] or OWNER/REPO[:QUANT], e.g. " + ModelResolver.DEFAULT_MODEL
                    + "; without a quant Q4_K_M is taken if present, else the repository's only GGUF.")
    String model;

    @Option(names = "--models-dir", paramLabel = "DIR",
            description = "Where models are kept (as DIR/OWNER--REPO/FILE); default $GGUF_LENS_MODELS, else models/ in the project.")
    Path modelsDir;

    @Option(names = "--endpoint", paramLabel = "URL",
            description = "Hub base URL; default $GGUF_LENS_HF_ENDPOINT, else " + HubConfig.DEFAULT_ENDPOINT + ".")
    URI endpoint;

    @Option(names = "--verify", description = "Hash files already present again (SHA-256 against the hub's) instead of trusting their .sha256 notes.")
    boolean verify;

    @Option(names = {"-q", "--quiet"}, description = "No progress bar and no notes; only the path(s) on stdout.")
    boolean quiet;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        ModelRef ref;
        try {
            ref = ModelRef.parse(model);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        HubConfig config;
        try {
            config = HubConfig.fromEnvironment();
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        if (modelsDir != null) config = config.withModelsDir(modelsDir);
        if (endpoint != null) {
            if (!"http".equalsIgnoreCase(endpoint.getScheme()) && !"https".equalsIgnoreCase(endpoint.getScheme())
                    || endpoint.getHost() == null)
                throw new UsageException("--endpoint must be an absolute http(s) URL, got '" + endpoint + "'");
            config = config.withEndpoint(endpoint);
        }
        PrintWriter err = spec.commandLine().getErr();
        ModelResolver resolver = new ModelResolver(config, ProgressBar.downloadListener(err, quiet));
        if (verify) resolver = resolver.rehashingPresentFiles();
        List<Path> paths = resolver.download(ref);
        PrintWriter out = spec.commandLine().getOut();
        for (Path p : paths) out.println(p.toAbsolutePath());
        out.flush();
        return 0;
    }
}
