package dev.gguflens.download;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * Turns a {@code --model} argument into local GGUF path(s): a local file is returned as it is, a hub reference
 * ({@code hf://OWNER/REPO[:QUANT]} or {@code OWNER/REPO[:QUANT]}) is downloaded into the models directory first.
 *
 * <p>How an argument is read: {@code hf://...} is always a hub reference; an existing file, or a name ending in
 * {@code .gguf}, is a local path; otherwise {@code OWNER/REPO[:QUANT]} is a hub reference and anything else is
 * returned unchanged (the model loader then reports it missing).
 *
 * <p>When the hub cannot be reached at all, a copy already in the models directory that fits the reference is
 * used (not re-verified against the hub), so a model that was pulled once keeps working offline.
 */
public final class ModelResolver {

    /** The model probe uses when none is given. */
    public static final String DEFAULT_MODEL = "Qwen/Qwen3-8B-GGUF:Q4_K_M";

    private final HubConfig config;
    private final DownloadListener listener;
    private final boolean rehash;

    public ModelResolver(HubConfig config, DownloadListener listener) {
        this(config, listener, false);
    }

    private ModelResolver(HubConfig config, DownloadListener listener, boolean rehash) {
        this.config = config;
        this.listener = listener == null ? DownloadListener.SILENT : listener;
        this.rehash = rehash;
    }

    /** A resolver that hashes files already present again instead of trusting their .sha256 notes. */
    public ModelResolver rehashingPresentFiles() {
        return new ModelResolver(config, listener, true);
    }

    /**
     * Resolves {@code modelArg} with settings from the environment (see {@link HubConfig#fromEnvironment()}).
     *
     * @return one path, or every shard of a split GGUF in order (pass the first to llama.cpp)
     */
    public static List<Path> resolve(String modelArg, DownloadListener listener) throws DownloadException {
        return new ModelResolver(HubConfig.fromEnvironment(), listener).resolve(modelArg);
    }

    /** @see #resolve(String, DownloadListener) */
    public static List<Path> resolve(String modelArg, HubConfig config, DownloadListener listener) throws DownloadException {
        return new ModelResolver(config, listener).resolve(modelArg);
    }

    /** True if {@code modelArg} would be fetched from the hub rather than read from disk. */
    public static boolean isHubReference(String modelArg) {
        if (modelArg == null || modelArg.isBlank()) return false;
        String s = modelArg.strip();
        if (s.regionMatches(true, 0, ModelRef.SCHEME, 0, ModelRef.SCHEME.length())) return true;
        if (s.toLowerCase(Locale.ROOT).endsWith(".gguf")) return false;
        try {
            if (Files.exists(Path.of(s))) return false;
        } catch (java.nio.file.InvalidPathException e) {
            // not a usable path on this system: decide by shape alone
        }
        return ModelRef.tryParse(s).isPresent();
    }

    public List<Path> resolve(String modelArg) throws DownloadException {
        if (modelArg == null || modelArg.isBlank()) throw new IllegalArgumentException("model must not be empty");
        if (!isHubReference(modelArg)) return List.of(Path.of(modelArg.strip()));
        return download(ModelRef.parse(modelArg));
    }

    /** Fetches the files {@code ref} names (unless present and verified) and returns their local paths. */
    public List<Path> download(ModelRef ref) throws DownloadException {
        try (HubClient client = new HubClient(config)) {
            List<HubFile> listing;
            try {
                listing = client.listFiles(ref);
            } catch (HubUnreachableException e) {
                List<Path> local = localCopy(ref);
                if (local != null) {
                    listener.note("hub unreachable (" + e.reason() + "); using the local copy " + local.getFirst());
                    return local;
                }
                Path dir = config.modelsDir().resolve(ref.localDirName()).toAbsolutePath();
                throw new DownloadException(e.getMessage() + ": download the file by hand from " + client.repoPage(ref)
                        + " and place it at " + dir + "/", e);
            }
            List<HubFile> chosen = GgufSelector.select(listing, ref.quant(), ref.repoId());
            FileDownloader downloader = new FileDownloader(client, config, listener, rehash);
            List<Path> paths = new ArrayList<>();
            for (HubFile file : chosen) paths.add(downloader.fetch(ref, file));
            return List.copyOf(paths);
        }
    }

    /** Complete files already in {@code <models>/<owner>--<repo>/} that the selection rules accept, or null. */
    private List<Path> localCopy(ModelRef ref) {
        Path dir = config.modelsDir().resolve(ref.localDirName()).toAbsolutePath();
        if (!Files.isDirectory(dir)) return null;
        List<HubFile> files = new ArrayList<>();
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) walk.filter(Files::isRegularFile)::iterator)
                files.add(new HubFile(dir.relativize(p).toString().replace('\\', '/'), Files.size(p), null));
            List<HubFile> chosen = GgufSelector.select(files, ref.quant(), ref.repoId());
            return chosen.stream().map(f -> dir.resolve(f.path())).toList();
        } catch (IOException e) {
            return null; // nothing usable here; the caller reports the hub as unreachable
        }
    }
}
