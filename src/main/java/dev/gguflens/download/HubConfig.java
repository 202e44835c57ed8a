package dev.gguflens.download;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * Where models come from and where they go.
 *
 * @param endpoint     hub base URL ({@code https://huggingface.co}; env {@code GGUF_LENS_HF_ENDPOINT})
 * @param token        Hugging Face access token sent as a Bearer header (env {@code HF_TOKEN}), or null
 * @param modelsDir    downloads land in {@code <modelsDir>/<owner>--<repo>/<file>} (env {@code GGUF_LENS_MODELS})
 * @param attempts     how often one file is tried before giving up; later tries resume from the {@code .part} file
 * @param stallTimeout a download whose body delivers no byte for this long is aborted (and may be resumed)
 */
public record HubConfig(URI endpoint, String token, Path modelsDir, int attempts, Duration stallTimeout) {

    public static final String DEFAULT_ENDPOINT = "https://huggingface.co";
    public static final String ENV_ENDPOINT = "GGUF_LENS_HF_ENDPOINT";
    public static final String ENV_TOKEN = "HF_TOKEN";
    public static final String ENV_MODELS = "GGUF_LENS_MODELS";

    public HubConfig {
        if (endpoint == null || endpoint.getScheme() == null || endpoint.getHost() == null)
            throw new IllegalArgumentException("hub endpoint must be an absolute http(s) URL, got '" + endpoint + "'");
        // Strip a trailing '/' so that "{base}/api/..." never contains "//".
        String s = endpoint.toString();
        if (s.endsWith("/")) endpoint = URI.create(s.replaceAll("/+$", ""));
        if (token != null && token.isBlank()) token = null;
        if (modelsDir == null) throw new IllegalArgumentException("models directory must be given");
        if (attempts < 1) throw new IllegalArgumentException("attempts must be at least 1, got " + attempts);
        if (stallTimeout == null || stallTimeout.isNegative() || stallTimeout.isZero())
            throw new IllegalArgumentException("stall timeout must be positive, got " + stallTimeout);
    }

    /** Settings from the process environment; models go to {@code $GGUF_LENS_MODELS} or {@link #defaultModelsDir()}. */
    public static HubConfig fromEnvironment() {
        return fromEnvironment(System.getenv());
    }

    static HubConfig fromEnvironment(Map<String, String> env) {
        String endpoint = env.getOrDefault(ENV_ENDPOINT, "");
        String models = env.getOrDefault(ENV_MODELS, "");
        return new HubConfig(
                parseEndpoint(endpoint.isBlank() ? DEFAULT_ENDPOINT : endpoint.strip()),
                env.get(ENV_TOKEN),
                models.isBlank() ? defaultModelsDir() : Path.of(models.strip()),
                3,
                Duration.ofSeconds(60));
    }

    public HubConfig withModelsDir(Path dir) {
        return new HubConfig(endpoint, token, dir, attempts, stallTimeout);
    }

    public HubConfig withEndpoint(URI uri) {
        return new HubConfig(uri, token, modelsDir, attempts, stallTimeout);
    }

    public HubConfig withAttempts(int n) {
        return new HubConfig(endpoint, token, modelsDir, n, stallTimeout);
    }

    public HubConfig withStallTimeout(Duration d) {
        return new HubConfig(endpoint, token, modelsDir, attempts, d);
    }

    /**
     * {@code models/} in the project root: the checkout the running jar or classes came from (recognised by its
     * {@code pom.xml} next to {@code target/}), so {@code bin/gguf-lens} finds the same folder from any working
     * directory; outside a checkout, {@code models/} in the working directory.
     */
    public static Path defaultModelsDir() {
        try {
            var source = HubConfig.class.getProtectionDomain().getCodeSource();
            if (source != null) {
                Path location = Path.of(source.getLocation().toURI());
                // .../target/gguf-lens.jar or .../target/classes -> the checkout is the parent of target/
                for (Path p = location; p != null; p = p.getParent()) {
                    if (p.getFileName() != null && p.getFileName().toString().equals("target")) {
                        Path root = p.getParent();
                        if (root != null && Files.isRegularFile(root.resolve("pom.xml"))) return root.resolve("models");
                        break;
                    }
                }
            }
        } catch (URISyntaxException | SecurityException | IllegalArgumentException e) {
            // fall through: an unusual class loader; the working directory is a sane default
        }
        return Path.of("models").toAbsolutePath();
    }

    private static URI parseEndpoint(String text) {
        try {
            URI uri = new URI(text);
            if (!"http".equalsIgnoreCase(uri.getScheme()) && !"https".equalsIgnoreCase(uri.getScheme()))
                throw new URISyntaxException(text, "scheme must be http or https");
            return uri;
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("$" + ENV_ENDPOINT + " is not an http(s) URL: '" + text + "' (" + e.getReason() + ")");
        }
    }
}
