package dev.gguflens.download;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Picks the GGUF file (or the shards of a split GGUF) for a requested quantisation from a repository listing.
 *
 * <p>Rules: only {@code .gguf} files count, except multimodal projectors ({@code mmproj*}). A name whose stem ends in
 * {@code -QUANT}, {@code .QUANT} or {@code _QUANT} (case-insensitive) is an exact match and wins over a name that merely
 * contains the quant; more than one candidate is an error naming them. Without a quant: {@code Q4_K_M} if present,
 * else the only model, else an error listing the available quants. Shards {@code -00001-of-00003} form one model;
 * all of them are returned in order, and a missing shard is an error.
 */
public final class GgufSelector {

    public static final String DEFAULT_QUANT = "Q4_K_M";

    private static final Pattern SHARD = Pattern.compile("(?i)^(.*)-(\\d{5})-of-(\\d{5})\\.gguf$");

    private GgufSelector() {}

    /** One model: a single file or all shards of a split file, in shard order. */
    record Candidate(String stem, List<HubFile> files) {
        String quantLabel() {
            return GgufSelector.quantLabel(stem);
        }

        String displayName() {
            return files.size() == 1 ? files.getFirst().path() : stem + "-*-of-" + String.format("%05d", files.size()) + ".gguf";
        }
    }

    /**
     * @param files  the repository listing
     * @param quant  the requested quant (any case), or null for the default rule
     * @param repoId for messages
     * @return the file, or every shard in order
     * @throws DownloadException naming the repository and what is available when nothing or more than one fits
     */
    public static List<HubFile> select(List<HubFile> files, String quant, String repoId) throws DownloadException {
        List<Candidate> candidates = candidates(files, repoId);
        if (candidates.isEmpty()) throw new DownloadException("no .gguf model file in " + repoId + " on the hub");
        if (quant == null) {
            List<Candidate> preferred = matching(candidates, DEFAULT_QUANT, true);
            if (preferred.size() == 1) return preferred.getFirst().files();
            if (candidates.size() == 1) return candidates.getFirst().files();
            throw new DownloadException(repoId + " holds " + candidates.size()
                    + " GGUF models; pick one with " + repoId + ":QUANT (available: " + available(candidates) + ")");
        }
        String wanted = quant.toUpperCase(Locale.ROOT);
        List<Candidate> exact = matching(candidates, wanted, true);
        List<Candidate> chosen = exact.isEmpty() ? matching(candidates, wanted, false) : exact;
        if (chosen.size() == 1) return chosen.getFirst().files();
        if (chosen.isEmpty())
            throw new DownloadException("no GGUF with quant " + wanted + " in " + repoId + " (available: " + available(candidates) + ")");
        throw new DownloadException("quant " + wanted + " is ambiguous in " + repoId + ": it matches "
                + String.join(", ", chosen.stream().map(Candidate::displayName).toList()) + "; give the full quant name");
    }

    /** Every model in the listing, split files grouped. */
    static List<Candidate> candidates(List<HubFile> files, String repoId) throws DownloadException {
        Map<String, List<HubFile>> byStem = new LinkedHashMap<>();
        Map<String, Integer> shardCounts = new LinkedHashMap<>();
        for (HubFile f : files) {
            String name = f.fileName();
            String lower = name.toLowerCase(Locale.ROOT);
            if (!lower.endsWith(".gguf") || lower.startsWith("mmproj")) continue;
            Matcher shard = SHARD.matcher(f.path());
            String stem;
            if (shard.matches()) {
                stem = shard.group(1);
                int count = Integer.parseInt(shard.group(3));
                Integer previous = shardCounts.put(stem, count);
                if (previous != null && previous != count)
                    throw new DownloadException(repoId + " has inconsistent shard counts for " + stem + " (" + previous + " and " + count + ")");
            } else {
                stem = f.path().substring(0, f.path().length() - ".gguf".length());
            }
            byStem.computeIfAbsent(stem, k -> new ArrayList<>()).add(f);
        }
        List<Candidate> out = new ArrayList<>();
        for (var e : byStem.entrySet()) {
            List<HubFile> parts = new ArrayList<>(e.getValue());
            Integer count = shardCounts.get(e.getKey());
            if (count != null) {
                parts.sort(Comparator.comparingInt(GgufSelector::shardIndex));
                for (int i = 1; i <= count; i++) {
                    if (i > parts.size() || shardIndex(parts.get(i - 1)) != i)
                        throw new DownloadException(repoId + " lists an incomplete split GGUF: shard " + i + " of " + count
                                + " of " + e.getKey() + " is missing");
                }
                if (parts.size() != count)
                    throw new DownloadException(repoId + " lists " + parts.size() + " files for the " + count + "-shard model " + e.getKey());
            }
            out.add(new Candidate(e.getKey(), List.copyOf(parts)));
        }
        return out;
    }

    private static List<Candidate> matching(List<Candidate> candidates, String quant, boolean exact) {
        List<Candidate> out = new ArrayList<>();
        for (Candidate c : candidates) {
            String name = baseName(c.stem()).toUpperCase(Locale.ROOT);
            boolean hit = exact
                    ? name.equals(quant) || name.endsWith("-" + quant) || name.endsWith("." + quant) || name.endsWith("_" + quant)
                    : name.contains(quant);
            if (hit) out.add(c);
        }
        return out;
    }

    /** Quant label of a file stem: its last '-' or '.' separated token, upper case ({@code Qwen3-8B-Q4_K_M -> Q4_K_M}). */
    static String quantLabel(String stem) {
        String base = baseName(stem);
        int cut = Math.max(base.lastIndexOf('-'), base.lastIndexOf('.'));
        return base.substring(cut + 1).toUpperCase(Locale.ROOT);
    }

    private static String available(List<Candidate> candidates) {
        TreeSet<String> labels = new TreeSet<>();
        for (Candidate c : candidates) labels.add(c.quantLabel());
        return String.join(", ", labels);
    }

    private static String baseName(String path) {
        return path.substring(path.lastIndexOf('/') + 1);
    }

    private static int shardIndex(HubFile f) {
        Matcher m = SHARD.matcher(f.path());
        return m.matches() ? Integer.parseInt(m.group(2)) : 0;
    }
}
