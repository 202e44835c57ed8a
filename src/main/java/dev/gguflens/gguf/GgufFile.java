package dev.gguflens.gguf;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An opened, fully validated GGUF model. The data sections are memory-mapped (no heap copies), so
 * files far larger than 2 GiB work; tensor {@link GgufTensor#data() data} stays valid until
 * {@link #close()}. A model split by gguf-split ({@code name-00001-of-00003.gguf}) is opened from
 * any of its shards: metadata comes from the first shard, tensors from all shards in order.
 */
public final class GgufFile implements AutoCloseable {
    static final String SPLIT_NO = "split.no";
    static final String SPLIT_COUNT = "split.count";
    static final String SPLIT_TENSORS_COUNT = "split.tensors.count";
    private static final Pattern SHARD_NAME = Pattern.compile("(.*)-(\\d{5})-of-(\\d{5})\\.gguf");

    private final Path path;
    private final List<GgufShard> shards;
    private final Map<String, GgufValue> metadata;
    private final List<GgufTensor> tensors;
    private final Map<String, GgufTensor> tensorsByName;
    private final long fileSize;
    private Vocabulary vocabulary;

    private GgufFile(Path path, List<GgufShard> shards) {
        this.path = path;
        this.shards = List.copyOf(shards);
        this.metadata = shards.getFirst().metadata;
        List<GgufTensor> all = new ArrayList<>();
        Map<String, GgufTensor> byName = new HashMap<>();
        long size = 0;
        for (GgufShard shard : shards) {
            size += shard.fileSize;
            for (GgufTensor t : shard.tensors) {
                if (byName.putIfAbsent(t.name(), t) != null) {
                    throw new GgufException(shard.path, "tensor " + UntrustedText.quoted(t.name()) + " also appears in an earlier shard");
                }
                all.add(t);
            }
        }
        this.tensors = Collections.unmodifiableList(all);
        this.tensorsByName = byName;
        this.fileSize = size;
    }

    /**
     * Opens and validates {@code path} (and, for a split model, all its shards).
     *
     * @throws GgufException for a missing, unreadable or malformed file; the message is one line
     */
    public static GgufFile open(Path path) throws GgufException {
        InputFiles.requireRegularFile(path);
        GgufShard given = GgufShard.open(path);
        List<GgufShard> shards = new ArrayList<>();
        try {
            int count = splitCount(given);
            if (count <= 1) {
                shards.add(given);
                return new GgufFile(path, shards);
            }
            Matcher m = SHARD_NAME.matcher(path.getFileName().toString());
            if (!m.matches()) {
                throw new GgufException(path, "split.count is " + count + " but the name does not follow <name>-00001-of-"
                        + String.format("%05d", count) + ".gguf, so the other shards cannot be found");
            }
            if (Integer.parseInt(m.group(3)) != count) {
                throw new GgufException(path, "split.count is " + count + " but the file name says " + Integer.parseInt(m.group(3)) + " shards");
            }
            long totalTensors = 0;
            for (int i = 0; i < count; i++) {
                Path shardPath = path.resolveSibling(String.format("%s-%05d-of-%05d.gguf", m.group(1), i + 1, count));
                GgufShard shard;
                if (shardPath.equals(path)) {
                    shard = given;
                } else {
                    if (!Files.exists(shardPath)) {
                        throw new GgufException(shardPath, "shard " + (i + 1) + " of " + count + " is missing (opened from " + path + ")");
                    }
                    shard = GgufShard.open(shardPath);
                }
                shards.add(shard);
                checkShard(shard, i, count);
                totalTensors += shard.tensors.size();
            }
            GgufShard first = shards.getFirst();
            GgufValue declared = first.metadata.get(SPLIT_TENSORS_COUNT);
            if (declared != null && declared.type().isInteger() && declared.asLong() != totalTensors) {
                throw new GgufException(first.path, "split.tensors.count is " + declared.asLong() + " but the "
                        + count + " shards hold " + totalTensors + " tensors");
            }
            return new GgufFile(first.path, shards);
        } catch (RuntimeException e) {
            if (!shards.contains(given)) given.close();
            for (GgufShard s : shards) s.close();
            throw e;
        }
    }

    private static int splitCount(GgufShard shard) {
        GgufValue v = shard.metadata.get(SPLIT_COUNT);
        if (v == null) return 1;
        if (!v.type().isInteger() || v.asLong() < 0 || v.asLong() > 99_999) {
            throw new GgufException(shard.path, "split.count " + v + " is not a shard count (0..99999)");
        }
        return (int) v.asLong();
    }

    private static void checkShard(GgufShard shard, int index, int count) {
        if (splitCount(shard) != count) {
            throw new GgufException(shard.path, "split.count is " + splitCount(shard) + ", expected " + count + " like the other shards");
        }
        GgufValue no = shard.metadata.get(SPLIT_NO);
        if (no == null || !no.type().isInteger() || no.asLong() != index) {
            throw new GgufException(shard.path, "split.no is " + (no == null ? "missing" : no.toString()) + ", expected " + index
                    + " (shards count from 0)");
        }
    }

    /** The path opened (for a split model: its first shard). */
    public Path path() {
        return path;
    }

    /** Every shard's path, in order; one element for an unsplit file. */
    public List<Path> shardPaths() {
        return shards.stream().map(s -> s.path).toList();
    }

    public int version() {
        return shards.getFirst().version;
    }

    public long alignment() {
        return shards.getFirst().alignment;
    }

    /** Absolute offset of the (first shard's) data section. */
    public long dataStart() {
        return shards.getFirst().dataStart;
    }

    /** general.architecture. */
    public String architecture() {
        return requireString("general.architecture");
    }

    /** All metadata of the first shard, in file order; unmodifiable. */
    public Map<String, GgufValue> metadata() {
        return metadata;
    }

    public Optional<GgufValue> get(String key) {
        return Optional.ofNullable(metadata.get(key));
    }

    /** All tensors in file order (shard by shard). */
    public List<GgufTensor> tensors() {
        return tensors;
    }

    public Optional<GgufTensor> tensor(String name) {
        return Optional.ofNullable(tensorsByName.get(name));
    }

    /** The file of the shard holding {@code tensor} (its dataOffset is relative to that file). */
    public Path fileOf(GgufTensor tensor) {
        for (GgufShard s : shards) if (s.tensors.contains(tensor)) return s.path;
        throw new IllegalArgumentException("tensor " + tensor.name() + " is not part of " + path);
    }

    /** Total bytes over all shards. */
    public long fileSize() {
        return fileSize;
    }

    public ModelHyperparameters hyperparameters() {
        String arch = architecture();
        return new ModelHyperparameters(arch,
                requireInt(arch + ".block_count"),
                requireInt(arch + ".embedding_length"),
                optionalInt(arch + ".context_length").orElse(0),
                optionalDouble(arch + ".attention.layer_norm_rms_epsilon"),
                optionalDouble(arch + ".attention.layer_norm_epsilon"),
                optionalDouble(arch + ".final_logit_softcapping"),
                optionalDouble(arch + ".logit_scale"),
                optionalInt("general.file_type"));
    }

    /** The tokenizer vocabulary (tokenizer.ggml.*); error if the file has no token list. */
    public synchronized Vocabulary vocabulary() {
        if (vocabulary == null) vocabulary = Vocabulary.from(this);
        return vocabulary;
    }

    /** Unmaps every shard; tensor data segments become inaccessible. */
    @Override
    public void close() {
        for (GgufShard s : shards) s.close();
    }

    // ---- typed metadata access, errors naming the key ----

    String requireString(String key) {
        GgufValue v = metadata.get(key);
        if (v == null) throw new GgufException(path, "metadata key " + UntrustedText.quoted(key) + " is missing");
        if (v.type() != GgufValueType.STRING) throw new GgufException(path, "metadata " + UntrustedText.quoted(key) + " has type " + v.type() + ", expected STRING");
        return v.asString();
    }

    int requireInt(String key) {
        return optionalInt(key).orElseThrow(() -> new GgufException(path, "metadata key " + UntrustedText.quoted(key) + " is missing"));
    }

    OptionalInt optionalInt(String key) {
        GgufValue v = metadata.get(key);
        if (v == null) return OptionalInt.empty();
        if (!v.type().isInteger()) throw new GgufException(path, "metadata " + UntrustedText.quoted(key) + " has type " + v.type() + ", expected an integer");
        long l = v.asLong();
        if (l < Integer.MIN_VALUE || l > Integer.MAX_VALUE) throw new GgufException(path, "metadata " + UntrustedText.quoted(key) + " value " + v + " does not fit in an int");
        return OptionalInt.of((int) l);
    }

    OptionalDouble optionalDouble(String key) {
        GgufValue v = metadata.get(key);
        if (v == null) return OptionalDouble.empty();
        if (!v.type().isFloat() && !v.type().isInteger()) {
            throw new GgufException(path, "metadata " + UntrustedText.quoted(key) + " has type " + v.type() + ", expected a number");
        }
        return OptionalDouble.of(v.asDouble());
    }

    Optional<GgufArray> optionalArray(String key, GgufValueType... elementTypes) {
        GgufValue v = metadata.get(key);
        if (v == null) return Optional.empty();
        if (v.type() != GgufValueType.ARRAY || !List.of(elementTypes).contains(v.asArray().elementType())) {
            throw new GgufException(path, "metadata " + UntrustedText.quoted(key) + " is " + describeType(v) + ", expected an array of " + List.of(elementTypes));
        }
        return Optional.of(v.asArray());
    }

    private static String describeType(GgufValue v) {
        return v.type() == GgufValueType.ARRAY ? "an array of " + v.asArray().elementType() : "a " + v.type();
    }

    /** Metadata with insertion order kept, for writers that copy it. */
    Map<String, GgufValue> metadataCopy() {
        return new LinkedHashMap<>(metadata);
    }
}
