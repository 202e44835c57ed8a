package dev.gguflens.cli;

import dev.gguflens.gguf.GgmlType;
import dev.gguflens.gguf.GgufArray;
import dev.gguflens.gguf.GgufFile;
import dev.gguflens.gguf.GgufTensor;
import dev.gguflens.gguf.GgufValue;
import dev.gguflens.gguf.GgufValueType;
import dev.gguflens.gguf.GgufWriter;
import dev.gguflens.testmodels.RandomModels;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * A corpus of malformed models, made from valid small models (stories260K and random-weight qwen3, qwen2 and
 * gemma2 models with stories260K's 512-token vocabulary) with the project's own writer: each case is one
 * deliberate defect of a category the outside fuzzing campaign found (issue 12) or that llama.cpp asserts on.
 * Case i is rebuilt from its index alone, so a parent process can name the case a crashed child was on.
 */
final class MalformedCorpus {
    /** One case: its category, a short description and how to make its file from a base draft. */
    record Case(String category, String description, int base, Consumer<Draft> mutation, long truncateAt) {}

    /** A model as editable metadata and tensors (data copied to the heap; the bases are small). */
    static final class Draft {
        final LinkedHashMap<String, GgufValue> metadata;
        final List<Tensor> tensors;
        final String arch;

        Draft(LinkedHashMap<String, GgufValue> metadata, List<Tensor> tensors) {
            this.metadata = metadata;
            this.tensors = tensors;
            this.arch = metadata.get("general.architecture").asString();
        }

        Draft copy() {
            List<Tensor> t = new ArrayList<>();
            for (Tensor x : tensors) t.add(new Tensor(x.name, x.type, x.shape.clone(), x.data));
            return new Draft(new LinkedHashMap<>(metadata), t);
        }

        Tensor tensor(String name) {
            return tensors.stream().filter(t -> t.name.equals(name)).findFirst().orElseThrow(() -> new IllegalStateException("no " + name));
        }

        List<String> tokens() {
            return metadata.get("tokenizer.ggml.tokens").asArray().strings();
        }

        void write(Path out) throws IOException {
            GgufWriter w = new GgufWriter();
            metadata.forEach(w::put);
            for (Tensor t : tensors) w.addTensor(t.name, t.type, t.shape, t.data);
            w.write(out);
        }
    }

    static final class Tensor {
        String name;
        GgmlType type;
        long[] shape;
        byte[] data;

        Tensor(String name, GgmlType type, long[] shape, byte[] data) {
            this.name = name;
            this.type = type;
            this.shape = shape;
            this.data = data;
        }

        /** Changes type and shape, with deterministic bytes of the right size (values do not matter to the checks). */
        void retype(GgmlType newType, long... newShape) {
            type = newType;
            shape = newShape;
            long elements = Arrays.stream(newShape).reduce(1, (a, b) -> a * b);
            byte[] bytes = new byte[Math.toIntExact(elements / newType.blockSize * newType.typeSize)];
            new SplittableRandom(name.hashCode()).nextBytes(bytes);
            if (newType == GgmlType.F16 || newType == GgmlType.BF16) {
                for (int i = 1; i < bytes.length; i += 2) bytes[i] &= 0x3b; // finite halves: keep the exponent below all-ones
            }
            data = bytes;
        }
    }

    final List<Draft> bases;
    final List<Path> baseFiles;
    final List<Case> cases = new ArrayList<>();

    MalformedCorpus(Path stories260K, Path workDir) {
        bases = new ArrayList<>();
        baseFiles = new ArrayList<>();
        baseFiles.add(stories260K);
        for (RandomModels.Arch arch : new RandomModels.Arch[] {RandomModels.Arch.QWEN3, RandomModels.Arch.QWEN2, RandomModels.Arch.GEMMA2}) {
            Path out = workDir.resolve("base-" + arch.name + ".gguf");
            if (!Files.isRegularFile(out)) {
                Path temp = workDir.resolve("base-" + arch.name + "." + ProcessHandle.current().pid() + ".tmp.gguf");
                RandomModels.writeWithVocabulary(RandomModels.Spec.small(arch, 7), stories260K, temp);
                try {
                    Files.move(temp, out, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
            baseFiles.add(out);
        }
        for (Path p : baseFiles) bases.add(load(p));
        for (int b = 0; b < bases.size(); b++) addCases(b, bases.get(b));
    }

    private static Draft load(Path file) {
        try (GgufFile g = GgufFile.open(file)) {
            LinkedHashMap<String, GgufValue> meta = new LinkedHashMap<>(g.metadata());
            List<Tensor> tensors = new ArrayList<>();
            for (GgufTensor t : g.tensors()) tensors.add(new Tensor(t.name(), t.type(), t.shape(), t.data().toArray(ValueLayout.JAVA_BYTE)));
            return new Draft(meta, tensors);
        }
    }

    /** Writes case {@code i}'s file to {@code out}. */
    void write(int i, Path out) throws IOException {
        Case c = cases.get(i);
        Draft d = bases.get(c.base()).copy();
        c.mutation().accept(d);
        d.write(out);
        if (c.truncateAt() >= 0) {
            try (var ch = java.nio.channels.FileChannel.open(out, java.nio.file.StandardOpenOption.WRITE)) {
                ch.truncate(Math.min(c.truncateAt(), ch.size() - 1));
            }
        }
    }

    private void add(String category, String description, int base, Consumer<Draft> mutation) {
        cases.add(new Case(category, description, base, mutation, -1));
    }

    private static GgufValue integer(GgufValueType type, long v) {
        return new GgufValue(type, type.isInteger() && type != GgufValueType.UINT64 && type != GgufValueType.INT64
                ? clamp(type, v) : v);
    }

    private static long clamp(GgufValueType type, long v) {
        return switch (type) {
            case UINT8 -> v & 0xff;
            case INT8 -> (byte) v;
            case UINT16 -> v & 0xffff;
            case INT16 -> (short) v;
            case UINT32 -> v & 0xffff_ffffL;
            case INT32 -> (int) v;
            default -> v;
        };
    }

    private static final GgufValueType[] INT_TYPES = {GgufValueType.UINT32, GgufValueType.INT32, GgufValueType.UINT64};
    private static final long[] HOSTILE = {0, 1, 2, 3, 7, 511, 512, 513, 1000, 1024, 1025, 65535, 1L << 31, (1L << 31) - 1,
        0xFFFF_FFFFL, -1, -2, Long.MAX_VALUE, Long.MIN_VALUE};

    private void addCases(int b, Draft base) {
        String a = base.arch;
        int n = base.tokens().size();
        int blocks = (int) base.metadata.get(a + ".block_count").asLong();
        // block_count: every hostile value in every integer type, plus the value as a float and a string
        for (GgufValueType t : INT_TYPES) {
            for (long v : HOSTILE) add("block_count", a + ".block_count=" + t + " " + v, b, d -> d.metadata.put(a + ".block_count", integer(t, v)));
        }
        add("block_count", "block_count as float", b, d -> d.metadata.put(a + ".block_count", GgufValue.ofFloat32(2f)));
        add("block_count", "block_count as string", b, d -> d.metadata.put(a + ".block_count", GgufValue.ofString("2")));
        add("block_count", "block_count missing", b, d -> d.metadata.remove(a + ".block_count"));
        add("block_count", "nextn_predict_layers above block_count", b, d -> d.metadata.put(a + ".nextn_predict_layers", GgufValue.ofUInt32(blocks + 1)));

        // tokenizer model that does not fit the architecture, or is unknown, empty, hostile or of the wrong type
        for (String m : new String[] {"bert", "none", "no_vocab", "rwkv", "t5", "gpt2", "plamo2", "test", "gemma4", "hybriddna",
            "whitespace", "nosuch", "", "LLAMA", "llama\0", "\u001b[2J\u001b]0;pwned\u0007", "x".repeat(100_000)}) {
            add("tokenizer_model", "tokenizer.ggml.model=" + m.length() + " chars", b, d -> d.metadata.put("tokenizer.ggml.model", GgufValue.ofString(m)));
        }
        add("tokenizer_model", "tokenizer.ggml.model as int", b, d -> d.metadata.put("tokenizer.ggml.model", GgufValue.ofUInt32(1)));
        add("tokenizer_model", "tokenizer.ggml.model missing", b, d -> d.metadata.remove("tokenizer.ggml.model"));

        // duplicate token strings: pairs across the list, empty vs [EMPTY_i], NUL-cut duplicates
        SplittableRandom rnd = new SplittableRandom(1000 + b);
        for (int k = 0; k < 60; k++) {
            int i = rnd.nextInt(n), j = rnd.nextInt(n);
            if (i == j) j = (i + 1) % n;
            int from = i, to = j;
            add("duplicate_tokens", "token " + to + " := token " + from, b, d -> setToken(d, to, d.tokens().get(from)));
        }
        for (int k = 0; k < 10; k++) {
            int i = rnd.nextInt(n - 1) + 1;
            add("duplicate_tokens", "empty token " + i + " and [EMPTY_" + i + "]", b, d -> {
                setToken(d, i, "");
                setToken(d, (i + 1) % n, "[EMPTY_" + i + "]");
            });
            add("duplicate_tokens", "token with NUL equals its prefix " + i, b, d -> setToken(d, i, d.tokens().get((i + 1) % n) + "\0tail"));
        }

        // experts: counts llama.cpp asserts on
        long[] expertCounts = {1L << 31, 0xFFFF_FFFFL, 1025, 1024, 8, 1, 0};
        long[] used = {0, 1, 2, 9, 1L << 31};
        for (long e : expertCounts) {
            for (long u : used) {
                add("expert_count", "expert_count=" + e + " used=" + u, b, d -> {
                    d.metadata.put(a + ".expert_count", GgufValue.ofUInt32(e));
                    d.metadata.put(a + ".expert_used_count", GgufValue.ofUInt32(u));
                });
            }
            add("expert_count", "expert_count=" + e + " groups=3", b, d -> {
                d.metadata.put(a + ".expert_count", GgufValue.ofUInt32(e));
                d.metadata.put(a + ".expert_used_count", GgufValue.ofUInt32(1));
                d.metadata.put(a + ".expert_group_count", GgufValue.ofUInt32(3));
            });
        }
        add("expert_count", "expert_used_count per-layer array too long", b, d -> d.metadata.put(a + ".expert_used_count",
                GgufValue.ofInt32s(new int[blocks + 3])));

        // norm weights and biases in types the CPU backend cannot add or multiply with
        List<String> norms = base.tensors.stream().map(t -> t.name).filter(nm -> nm.endsWith("norm.weight")).toList();
        GgmlType[] badNormTypes = {GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.I32, GgmlType.F64};
        for (String norm : norms) {
            for (GgmlType t : badNormTypes) {
                add("norm_type", norm + " as " + t, b, d -> {
                    Tensor x = d.tensor(norm);
                    x.retype(t, x.shape);
                });
            }
        }
        for (String bias : base.tensors.stream().map(t -> t.name).filter(nm -> nm.endsWith(".bias")).toList()) {
            for (GgmlType t : new GgmlType[] {GgmlType.F16, GgmlType.BF16}) {
                add("norm_type", bias + " as " + t, b, d -> {
                    Tensor x = d.tensor(bias);
                    x.retype(t, x.shape);
                });
            }
        }
        // weight matrices in types without a CPU product
        List<String> matrices = base.tensors.stream().filter(t -> t.shape.length == 2).map(t -> t.name).toList();
        for (String m : matrices) {
            for (GgmlType t : new GgmlType[] {GgmlType.I32, GgmlType.Q8_1}) {
                add("weight_type", m + " as " + t, b, d -> {
                    Tensor x = d.tensor(m);
                    if (x.shape[0] % t.blockSize == 0) x.retype(t, x.shape);
                    else x.retype(GgmlType.I16, x.shape);
                });
            }
        }

        // shapes inconsistent with the hyperparameters
        for (Tensor t : base.tensors) {
            String name = t.name;
            if (t.shape.length == 2) {
                add("wrong_shape", name + " transposed", b, d -> {
                    Tensor x = d.tensor(name);
                    if (x.shape[0] == x.shape[1]) x.retype(x.type, x.shape[0] / 2, x.shape[1] * 2);
                    else x.retype(x.type, x.shape[1], x.shape[0]);
                });
                add("wrong_shape", name + " one row short", b, d -> {
                    Tensor x = d.tensor(name);
                    x.retype(x.type, x.shape[0], x.shape[1] - 1);
                });
                add("wrong_shape", name + " with a third dimension", b, d -> {
                    Tensor x = d.tensor(name);
                    x.retype(x.type, x.shape[0], x.shape[1], 2);
                });
            } else {
                add("wrong_shape", name + " half as long", b, d -> {
                    Tensor x = d.tensor(name);
                    x.retype(x.type, x.shape[0] / 2);
                });
                add("wrong_shape", name + " as a matrix", b, d -> {
                    Tensor x = d.tensor(name);
                    x.retype(x.type, x.shape[0], 2);
                });
            }
        }
        for (String key : new String[] {"embedding_length", "feed_forward_length", "attention.head_count", "attention.head_count_kv",
            "context_length", "attention.key_length", "attention.value_length", "rope.dimension_count"}) {
            for (long v : new long[] {0, 1, 3, 7, 33, 65, 1L << 31, 0xFFFF_FFFFL}) {
                add("hyperparameters", a + "." + key + "=" + v, b, d -> d.metadata.put(a + "." + key, GgufValue.ofUInt32(v)));
            }
            add("hyperparameters", a + "." + key + " missing", b, d -> d.metadata.remove(a + "." + key));
            add("hyperparameters", a + "." + key + " per-layer array with a zero", b, d -> {
                int[] values = new int[blocks];
                Arrays.fill(values, 4);
                values[blocks - 1] = 0;
                d.metadata.put(a + "." + key, GgufValue.ofInt32s(values));
            });
        }
        for (String s : new String[] {"none", "linear", "yarn", "longrope", "dynamic", "", "\u001b[31mred"}) {
            add("hyperparameters", "rope.scaling.type=" + s, b, d -> d.metadata.put(a + ".rope.scaling.type", GgufValue.ofString(s)));
        }
        for (double eps : new double[] {Double.NaN, Double.POSITIVE_INFINITY, -1e-5, 0}) {
            add("hyperparameters", "rms epsilon " + eps, b, d -> d.metadata.put(a + ".attention.layer_norm_rms_epsilon", GgufValue.ofFloat32((float) eps)));
        }
        add("hyperparameters", "general.architecture clip", b, d -> d.metadata.put("general.architecture", GgufValue.ofString("clip")));
        add("hyperparameters", "general.architecture empty", b, d -> d.metadata.put("general.architecture", GgufValue.ofString("")));

        // missing tensors, one at a time
        for (Tensor t : base.tensors) {
            String name = t.name;
            add("missing_tensor", "without " + name, b, d -> d.tensors.removeIf(x -> x.name.equals(name)));
        }
        add("missing_tensor", "an extra block's tensor", b, d -> {
            Tensor norm = d.tensor("blk.0.attn_norm.weight");
            d.tensors.add(new Tensor("blk." + blocks + ".attn_norm.weight", norm.type, norm.shape.clone(), norm.data));
        });

        // special token ids outside the vocabulary, with and without the tokenizer adding them
        for (String special : new String[] {"bos", "eos", "unknown", "padding", "seperator", "eot", "mask"}) {
            for (long v : new long[] {n, 1L << 31, 0xFFFF_FFFFL, 0, n - 1}) {
                add("special_ids", special + "=" + v, b, d -> d.metadata.put("tokenizer.ggml." + special + "_token_id", GgufValue.ofUInt32(v)));
                add("special_ids", special + "=" + v + " added", b, d -> {
                    d.metadata.put("tokenizer.ggml." + special + "_token_id", GgufValue.ofUInt32(v));
                    d.metadata.put("tokenizer.ggml.add_" + special + "_token", GgufValue.ofBool(true));
                });
            }
            add("special_ids", special + " as string", b, d -> d.metadata.put("tokenizer.ggml." + special + "_token_id", GgufValue.ofString("1")));
        }

        // per-token arrays whose size differs from the vocabulary, or of the wrong element type
        for (String key : new String[] {"tokenizer.ggml.scores", "tokenizer.ggml.token_type"}) {
            for (int delta : new int[] {-n, -100, -1, 1, 100}) {
                add("array_sizes", key + " size " + (n + delta), b, d -> {
                    if (key.endsWith("scores")) d.metadata.put(key, GgufValue.ofFloat32s(new float[n + delta]));
                    else {
                        int[] types = new int[n + delta];
                        Arrays.fill(types, 1);
                        d.metadata.put(key, GgufValue.ofInt32s(types));
                    }
                });
            }
            add("array_sizes", key + " as strings", b, d -> d.metadata.put(key, GgufValue.ofStrings(List.of("a", "b"))));
            add("array_sizes", key + " as a scalar", b, d -> d.metadata.put(key, GgufValue.ofUInt32(1)));
        }
        add("array_sizes", "empty token list", b, d -> d.metadata.put("tokenizer.ggml.tokens", GgufValue.ofStrings(List.of())));
        add("array_sizes", "token list of ints", b, d -> d.metadata.put("tokenizer.ggml.tokens", GgufValue.ofInt32s(new int[n])));
        add("array_sizes", "token types all byte", b, d -> {
            int[] types = new int[n];
            Arrays.fill(types, 6);
            d.metadata.put("tokenizer.ggml.token_type", GgufValue.ofInt32s(types));
        });

        // text that must be escaped and shortened in messages: keys, names and strings with terminal sequences
        String esc = "\u001b[2J\u001b]0;pwned\u0007\u009b31m\u202e";
        add("hostile_text", "metadata key with ESC", b, d -> d.metadata.put("general." + esc, GgufValue.ofString(esc)));
        add("hostile_text", "architecture with ESC", b, d -> d.metadata.put("general.architecture", GgufValue.ofString(esc)));
        add("hostile_text", "architecture of 100000 chars", b, d -> d.metadata.put("general.architecture", GgufValue.ofString("a".repeat(100_000))));
        add("hostile_text", "tensor name of 1000000 chars", b, d -> d.tensors.getFirst().name = "t".repeat(1_000_000));
        add("hostile_text", "tensor name with ESC", b, d -> d.tensors.getFirst().name = esc);
        add("hostile_text", "token with ESC", b, d -> setToken(d, 5, esc));
        add("hostile_text", "duplicate ESC tokens", b, d -> {
            setToken(d, 5, esc);
            setToken(d, 6, esc);
        });

        // truncations at spread-out offsets through header, metadata, tensor infos and data
        long size;
        try {
            size = Files.size(baseFiles.get(b));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        SplittableRandom cut = new SplittableRandom(77 + b);
        for (int k = 0; k < 60; k++) {
            long at = k < 30 ? k * 97L : cut.nextLong(size);
            cases.add(new Case("truncation", "cut at " + at, b, d -> {}, at));
        }

        // seeded byte flips anywhere in the metadata and tensor infos of the file as the writer lays it out
        for (int k = 0; k < 40; k++) {
            long seed = 5000L * (b + 1) + k;
            add("byte_flips", "flips seed " + seed, b, d -> flipMetadata(d, seed));
        }
    }

    private static void setToken(Draft d, int id, String text) {
        List<String> tokens = new ArrayList<>(d.tokens());
        tokens.set(id, text);
        d.metadata.put("tokenizer.ggml.tokens", GgufValue.ofStrings(tokens));
    }

    /** Replaces a few metadata values with values of another kind (the writer keeps the file itself well-formed). */
    private static void flipMetadata(Draft d, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        List<String> keys = new ArrayList<>(d.metadata.keySet());
        for (int k = 0; k < 3; k++) {
            String key = keys.get(r.nextInt(keys.size()));
            GgufValue v = d.metadata.get(key);
            GgufValue replacement = switch (r.nextInt(5)) {
                case 0 -> GgufValue.ofUInt32(r.nextLong(0, 0x1_0000_0000L));
                case 1 -> GgufValue.ofInt32(r.nextInt());
                case 2 -> GgufValue.ofString(Long.toHexString(r.nextLong()));
                case 3 -> GgufValue.ofBool(r.nextBoolean());
                default -> v.type() == GgufValueType.ARRAY && v.asArray().size() > 1
                        ? GgufValue.ofArray(new GgufArray(v.asArray().elementType(), v.asArray().values().subList(0, v.asArray().size() - 1)))
                        : GgufValue.ofFloat64(r.nextDouble() * 1e6);
            };
            d.metadata.put(key, replacement);
        }
    }

    /** Case counts per category, in first-seen order. */
    Map<String, Integer> countsByCategory() {
        Map<String, Integer> counts = new LinkedHashMap<>();
        for (Case c : cases) counts.merge(c.category(), 1, Integer::sum);
        return counts;
    }
}
