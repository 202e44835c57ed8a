package dev.gguflens.cli;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import dev.gguflens.gguf.GgmlType;
import dev.gguflens.gguf.GgufArray;
import dev.gguflens.gguf.GgufException;
import dev.gguflens.gguf.GgufFile;
import dev.gguflens.gguf.UntrustedText;
import dev.gguflens.gguf.GgufTensor;
import dev.gguflens.gguf.GgufValue;
import dev.gguflens.gguf.GgufValueType;
import dev.gguflens.gguf.ModelHyperparameters;
import dev.gguflens.report.Json;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code gguf-lens info FILE}: what a GGUF holds, without loading it into llama.cpp. */
@Command(name = "info", mixinStandardHelpOptions = true,
        description = {
                "Shows a GGUF model's architecture, hyperparameters, vocabulary size, metadata and tensor summary.",
                "Text mode shortens arrays longer than 8 elements to their type, length and first elements.",
                "With --json, arrays of up to 64 elements are kept whole and longer ones become "
                        + "{\"type\", \"length\", \"head\"} with the first 8 elements; tensors are always listed."},
        footer = {"", "Examples:",
            "  gguf-lens info models/Qwen3-8B-Q4_K_M.gguf",
            "  gguf-lens info --tensors model.gguf",
            "  gguf-lens info --json model-00001-of-00004.gguf | jq .architecture",
            "", "Exit codes: 0 success, 1 unreadable or malformed file, 2 invalid usage."})
public final class InfoCommand implements Callable<Integer> {
    static final int JSON_ARRAY_LIMIT = 64;
    static final int HEAD = 8;

    @Parameters(index = "0", paramLabel = "FILE", description = "GGUF file (any shard of a split model)")
    Path file;

    @Option(names = "--tensors", description = "List every tensor: name, type, shape, offset, bytes.")
    boolean listTensors;

    @Option(names = "--json", description = "Print JSON (snake_case keys: architecture, hyperparameters, vocabulary_size, "
            + "tensor_count, bytes_per_type, metadata, tensors).")
    boolean json;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        dev.gguflens.gguf.InputFiles.requireRegularFile(file);
        PrintWriter out = spec.commandLine().getOut();
        try (GgufFile g = GgufFile.open(file)) {
            if (json) {
                out.println(Json.pretty(toJson(g)));
            } else {
                printText(g, out);
            }
        }
        out.flush();
        return 0;
    }

    private static Map<GgmlType, long[]> bytesPerType(GgufFile g) {
        Map<GgmlType, long[]> m = new EnumMap<>(GgmlType.class);
        for (GgufTensor t : g.tensors()) {
            long[] countAndBytes = m.computeIfAbsent(t.type(), k -> new long[2]);
            countAndBytes[0]++;
            countAndBytes[1] += t.byteSize();
        }
        return m;
    }

    /**
     * The hyperparameters, or null when a required key is missing (vocabulary-only files): info still
     * describes such a file instead of refusing it. Malformed values still raise an error.
     */
    private static ModelHyperparameters hyperparametersOrNull(GgufFile g) {
        String arch = g.architecture();
        if (g.get(arch + ".block_count").isEmpty() || g.get(arch + ".embedding_length").isEmpty()) return null;
        return g.hyperparameters();
    }

    private static String missingHyperparameters(GgufFile g) {
        String arch = g.architecture();
        return "missing " + java.util.stream.Stream.of(arch + ".block_count", arch + ".embedding_length")
                .filter(k -> g.get(k).isEmpty()).collect(java.util.stream.Collectors.joining(", "));
    }

    /** The vocabulary size, or -1 when the file has no token list (info still works for such files). */
    private static int vocabularySize(GgufFile g) {
        return g.get("tokenizer.ggml.tokens").isPresent() ? g.vocabulary().size() : -1;
    }

    private void printText(GgufFile g, PrintWriter out) {
        out.printf("file: %s (%d bytes%s, GGUF v%d, alignment %d)%n", g.path(), g.fileSize(),
                g.shardPaths().size() > 1 ? " in " + g.shardPaths().size() + " shards" : "", g.version(), g.alignment());
        out.println("architecture: " + UntrustedText.escaped(g.architecture()));
        ModelHyperparameters hp = hyperparametersOrNull(g);
        if (hp == null) {
            out.println("hyperparameters: incomplete (" + missingHyperparameters(g) + ")");
        } else {
            out.println("block count: " + hp.blockCount());
            out.println("embedding length: " + hp.embeddingLength());
            out.println("context length: " + hp.contextLength());
            hp.rmsNormEpsilon().ifPresent(v -> out.println("rms norm epsilon: " + shortest(v)));
            hp.layerNormEpsilon().ifPresent(v -> out.println("layer norm epsilon: " + shortest(v)));
            hp.finalLogitSoftcapping().ifPresent(v -> out.println("final logit softcapping: " + shortest(v)));
            hp.logitScale().ifPresent(v -> out.println("logit scale: " + shortest(v)));
            hp.fileType().ifPresent(v -> out.println("file type: " + v));
}
        int vocab = vocabularySize(g);
        out.println("vocabulary size: " + (vocab < 0 ? "none" : vocab));
        out.println("tensor count: " + g.tensors().size());
        out.println("bytes per tensor type:");
        bytesPerType(g).forEach((type, cb) -> out.printf("  %-8s %6d tensors %14d bytes%n", type, cb[0], cb[1]));
        out.println("metadata (" + g.metadata().size() + " keys):");
        g.metadata().forEach((k, v) -> out.println("  " + UntrustedText.escaped(k) + " = " + text(v)));
        if (listTensors) {
            out.println("tensors:");
            out.printf("  %-40s %-8s %-24s %14s %14s%n", "name", "type", "shape", "offset", "bytes");
            for (GgufTensor t : g.tensors()) {
                out.printf("  %-40s %-8s %-24s %14d %14d%n", UntrustedText.escaped(t.name()), t.type(), Arrays.toString(t.shape()), t.dataOffset(), t.byteSize());
            }
        }
    }

    private static String text(GgufValue v) {
        return switch (v.type()) {
            case STRING -> quote(v.asString());
            case ARRAY -> textArray(v.asArray());
            default -> scalarText(v.type(), v.value());
        };
    }

    private static String textArray(GgufArray a) {
        StringBuilder sb = new StringBuilder("[");
        int shown = Math.min(a.size(), HEAD);
        for (int i = 0; i < shown; i++) {
            if (i > 0) sb.append(", ");
            Object e = a.get(i);
            sb.append(switch (a.elementType()) {
                case STRING -> quote((String) e);
                case ARRAY -> textArray((GgufArray) e);
                default -> scalarText(a.elementType(), e);
            });
        }
        if (a.size() > shown) sb.append(", ... (").append(a.elementType()).append(" x ").append(a.size()).append(")");
        return sb.append("]").toString();
    }

    private static String scalarText(GgufValueType type, Object value) {
        return switch (type) {
            case UINT64 -> Long.toUnsignedString((Long) value);
            case FLOAT32 -> shortest((Double) value);
            default -> String.valueOf(value);
        };
    }

    /** A value stored as FLOAT32 printed as the float it is (1.0E-5, not 9.999999747378752E-6). */
    private static String shortest(double v) {
        return (double) (float) v == v ? Float.toString((float) v) : Double.toString(v);
    }

    /** Metadata strings escaped and shortened by the one owner of that, {@link UntrustedText}. */
    private static String quote(String s) {
        return UntrustedText.quoted(s);
    }

    private static JsonObject toJson(GgufFile g) {
        JsonObject root = new JsonObject();
        root.addProperty("file", g.path().toString());
        root.addProperty("file_size", g.fileSize());
        root.addProperty("version", g.version());
        root.addProperty("alignment", g.alignment());
        root.addProperty("architecture", g.architecture());
        ModelHyperparameters hp = hyperparametersOrNull(g);
        if (hp != null) {
            JsonObject h = new JsonObject();
            h.addProperty("block_count", hp.blockCount());
            h.addProperty("embedding_length", hp.embeddingLength());
            h.addProperty("context_length", hp.contextLength());
            hp.rmsNormEpsilon().ifPresent(v -> h.add("rms_norm_epsilon", Json.number(v)));
            hp.layerNormEpsilon().ifPresent(v -> h.add("layer_norm_epsilon", Json.number(v)));
            hp.finalLogitSoftcapping().ifPresent(v -> h.add("final_logit_softcapping", Json.number(v)));
            hp.logitScale().ifPresent(v -> h.add("logit_scale", Json.number(v)));
            hp.fileType().ifPresent(v -> h.addProperty("file_type", v));
            root.add("hyperparameters", h);
}
        int vocab = vocabularySize(g);
        if (vocab >= 0) root.addProperty("vocabulary_size", vocab);
        root.addProperty("tensor_count", g.tensors().size());
        JsonObject perType = new JsonObject();
        bytesPerType(g).forEach((type, cb) -> perType.addProperty(type.name(), cb[1]));
        root.add("bytes_per_type", perType);
        JsonObject meta = new JsonObject();
        g.metadata().forEach((k, v) -> meta.add(k, json(v.type(), v.value(), true)));
        root.add("metadata", meta);
        JsonArray tensors = new JsonArray();
        for (GgufTensor t : g.tensors()) {
            JsonObject o = new JsonObject();
            o.addProperty("name", t.name());
            o.addProperty("type", t.type().name());
            JsonArray shape = new JsonArray();
            for (long d : t.shape()) shape.add(d);
            o.add("shape", shape);
            o.addProperty("offset", t.dataOffset());
            o.addProperty("bytes", t.byteSize());
            tensors.add(o);
        }
        root.add("tensors", tensors);
        return root;
    }

    private static JsonElement json(GgufValueType type, Object value, boolean summarise) {
        return switch (type) {
            case STRING -> new JsonPrimitive((String) value);
            case BOOL -> new JsonPrimitive((Boolean) value);
            case FLOAT32, FLOAT64 -> Json.number((Double) value);
            case UINT64 -> new JsonPrimitive(new BigInteger(Long.toUnsignedString((Long) value)));
            case ARRAY -> {
                GgufArray a = (GgufArray) value;
                if (summarise && a.size() > JSON_ARRAY_LIMIT) {
                    JsonObject s = new JsonObject();
                    s.addProperty("type", a.elementType().name());
                    s.addProperty("length", a.size());
                    JsonArray head = new JsonArray();
                    for (int i = 0; i < HEAD; i++) head.add(json(a.elementType(), a.get(i), true));
                    s.add("head", head);
                    yield s;
                }
                JsonArray arr = new JsonArray();
                for (Object e : a.values()) arr.add(json(a.elementType(), e, summarise));
                yield arr;
            }
            default -> new JsonPrimitive((Long) value);
        };
    }
}
