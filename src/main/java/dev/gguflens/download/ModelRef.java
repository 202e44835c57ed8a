package dev.gguflens.download;

import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A model on the Hugging Face hub: {@code hf://OWNER/REPO[:QUANT]} or {@code OWNER/REPO[:QUANT]}.
 *
 * @param owner user or organisation, e.g. {@code Qwen}
 * @param repo  repository name, e.g. {@code Qwen3-8B-GGUF}
 * @param quant requested quantisation in upper case (e.g. {@code Q4_K_M}), or {@code null} for "pick one"
 */
public record ModelRef(String owner, String repo, String quant) {

    public static final String SCHEME = "hf://";

    // Hub names: letters, digits, '-', '_', '.'; must not start with '.' or '-' (as the hub enforces).
    private static final String NAME = "[A-Za-z0-9_][A-Za-z0-9_.\\-]{0,95}";
    private static final Pattern REF = Pattern.compile(
            "(" + NAME + ")/(" + NAME + ")(?::([A-Za-z0-9_.\\-]+))?");

    public ModelRef {
        if (quant != null) quant = quant.toUpperCase(Locale.ROOT);
    }

    /** {@code OWNER/REPO}, as the hub's URLs spell it. */
    public String repoId() {
        return owner + "/" + repo;
    }

    /** Folder name under the models directory: {@code OWNER--REPO} (no nested owner folder). */
    public String localDirName() {
        return owner + "--" + repo;
    }

    @Override
    public String toString() {
        return SCHEME + repoId() + (quant == null ? "" : ":" + quant);
    }

    /**
     * Parses a hub reference.
     *
     * @throws IllegalArgumentException naming the value when it is not {@code [hf://]OWNER/REPO[:QUANT]}
     */
    public static ModelRef parse(String text) {
        return tryParse(text).orElseThrow(() -> new IllegalArgumentException(
                "not a Hugging Face model reference: '" + text + "' (expected hf://OWNER/REPO[:QUANT], e.g. "
                        + ModelResolver.DEFAULT_MODEL + ")"));
    }

    /** The reference if {@code text} has the shape {@code [hf://]OWNER/REPO[:QUANT]}, else empty. */
    public static Optional<ModelRef> tryParse(String text) {
        if (text == null) return Optional.empty();
        String body = text.strip();
        if (body.regionMatches(true, 0, SCHEME, 0, SCHEME.length())) body = body.substring(SCHEME.length());
        Matcher m = REF.matcher(body);
        if (!m.matches() || m.group(2).endsWith(".") || m.group(2).contains("..")) return Optional.empty();
        return Optional.of(new ModelRef(m.group(1), m.group(2), m.group(3)));
    }
}
