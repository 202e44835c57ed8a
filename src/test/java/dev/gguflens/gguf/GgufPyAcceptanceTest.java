package dev.gguflens.gguf;

import dev.gguflens.testmodels.Fixtures;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Independent reference: llama.cpp's gguf-py GGUFReader must read what our writer wrote exactly as
 * we meant it, and our reader must agree with it on the real stories260K model.
 */
class GgufPyAcceptanceTest {
    @TempDir
    Path tmp;

    private JsonObject ggufPy(Path file) throws Exception {
        Path llama = Fixtures.llamaCppDir();
        Path script = tmp.resolve("dump.py");
        try (InputStream in = getClass().getResourceAsStream("gguf_py_dump.py")) {
            Files.write(script, in.readAllBytes());
        }
        ProcessBuilder pb = new ProcessBuilder("python3", script.toString(), file.toString());
        pb.environment().put("PYTHONPATH", llama.resolve("gguf-py").toString());
        pb.redirectErrorStream(false);
        Process p;
        try {
            p = pb.start();
        } catch (java.io.IOException e) {
            Fixtures.requireOrSkip("python3 not available: " + e.getMessage());
            return null;
        }
        var stdout = p.getInputStream().readAllBytes();
        var stderr = p.getErrorStream().readAllBytes();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        String err = new String(stderr, StandardCharsets.UTF_8);
        if (p.exitValue() != 0 && err.contains("ModuleNotFoundError")) Fixtures.requireOrSkip("gguf-py cannot be imported: " + err);
        assertEquals(0, p.exitValue(), err);
        return JsonParser.parseString(new String(stdout, StandardCharsets.UTF_8)).getAsJsonObject();
    }

    @Test
    void ggufPyReadsWhatWeWrite() throws Exception {
        Map<String, GgufValue> meta = GgufRoundTripTest.everyType();
        // JSON cannot carry NaN/Infinity; those are covered by the round-trip test.
        meta.remove("f32.nan");
        meta.remove("f64.-inf");
        var tensors = GgufRoundTripTest.someTensors(new Random(3));
        GgufWriter w = new GgufWriter();
        meta.forEach(w::put);
        w.putUInt32("general.alignment", 64);
        for (var t : tensors) w.addTensor(t.name(), t.type(), t.shape(), t.bytes());
        Path file = tmp.resolve("ours.gguf");
        w.write(file);

        JsonObject py = ggufPy(file);
        assertEquals(64, py.get("alignment").getAsInt());
        JsonObject fields = py.getAsJsonObject("fields");
        assertEquals(meta.size() + 1, fields.size(), fields.keySet().toString());
        meta.forEach((key, value) -> {
            JsonObject f = fields.getAsJsonObject(key);
            assertNotNull(f, "gguf-py lacks key " + key);
            JsonArray types = f.getAsJsonArray("types");
            assertEquals(value.type().name(), types.get(0).getAsString(), key);
            if (value.type() == GgufValueType.ARRAY && value.asArray().size() > 0) {
                assertEquals(value.asArray().elementType().name(), types.get(1).getAsString(), key);
            }
            if (f.has("value")) assertJsonEquals(key, value.type(), value.value(), f.get("value"));
        });
        try (GgufFile ours = GgufFile.open(file)) {
            JsonArray pyTensors = py.getAsJsonArray("tensors");
            assertEquals(tensors.size(), pyTensors.size());
            assertEquals(ours.dataStart(), py.get("data_offset").getAsLong());
            for (int i = 0; i < tensors.size(); i++) {
                var want = tensors.get(i);
                JsonObject t = pyTensors.get(i).getAsJsonObject();
                assertEquals(want.name(), t.get("name").getAsString());
                assertEquals(want.type().name(), t.get("type").getAsString());
                assertEquals(toList(want.shape()), longs(t.getAsJsonArray("shape")), want.name());
                assertEquals(want.bytes().length, t.get("bytes").getAsLong());
                assertEquals(ours.tensors().get(i).dataOffset(), t.get("offset").getAsLong());
                assertEquals(sha256(want.bytes()), t.get("sha256").getAsString(), want.name());
            }
        }
    }

    @Test
    void weAgreeWithGgufPyOnStories260K() throws Exception {
        agreeWithGgufPy(Fixtures.stories260K());
    }

    /** A BPE vocabulary from llama.cpp's test models: 50k tokens and merges with spaces and non-ASCII bytes. */
    @Test
    void weAgreeWithGgufPyOnGpt2Vocabulary() throws Exception {
        Path model = Fixtures.llamaCppDir().resolve("models/ggml-vocab-gpt-2.gguf");
        if (!Files.isRegularFile(model)) Fixtures.requireOrSkip("not found: " + model);
        agreeWithGgufPy(model);
        try (GgufFile g = GgufFile.open(model)) {
            assertEquals("gpt2", g.vocabulary().model());
            assertEquals(50257, g.vocabulary().size());
        }
    }

    private void agreeWithGgufPy(Path model) throws Exception {
        JsonObject py = ggufPy(model);
        try (GgufFile g = GgufFile.open(model)) {
            JsonObject fields = py.getAsJsonObject("fields");
            assertEquals(new ArrayList<>(g.metadata().keySet()), new ArrayList<>(fields.keySet()));
            g.metadata().forEach((k, v) -> assertJsonEquals(k, v.type(), v.value(), fields.getAsJsonObject(k).get("value")));
            JsonArray pyTensors = py.getAsJsonArray("tensors");
            assertEquals(g.tensors().size(), pyTensors.size());
            for (int i = 0; i < pyTensors.size(); i++) {
                GgufTensor t = g.tensors().get(i);
                JsonObject p = pyTensors.get(i).getAsJsonObject();
                assertEquals(t.name(), p.get("name").getAsString());
                assertEquals(t.type().name(), p.get("type").getAsString());
                assertEquals(toList(t.shape()), longs(p.getAsJsonArray("shape")));
                assertEquals(t.dataOffset(), p.get("offset").getAsLong());
                assertEquals(t.byteSize(), p.get("bytes").getAsLong());
                assertEquals(sha256(t.data().toArray(ValueLayout.JAVA_BYTE)), p.get("sha256").getAsString(), t.name());
            }
        }
    }

    private static void assertJsonEquals(String key, GgufValueType type, Object ours, JsonElement py) {
        switch (type) {
            case STRING -> assertEquals(ours, py.getAsString(), key);
            case BOOL -> assertEquals(ours, py.getAsBoolean(), key);
            case FLOAT32, FLOAT64 -> assertEquals((Double) ours, py.getAsDouble(), 0.0, key);
            case UINT64 -> assertEquals(Long.toUnsignedString((Long) ours), py.getAsBigInteger().toString(), key);
            case ARRAY -> {
                GgufArray a = (GgufArray) ours;
                JsonArray arr = py.getAsJsonArray();
                assertEquals(a.size(), arr.size(), key);
                for (int i = 0; i < a.size(); i++) assertJsonEquals(key + "[" + i + "]", a.elementType(), a.get(i), arr.get(i));
            }
            default -> assertEquals(ours, py.getAsLong(), key);
        }
    }

    private static List<Long> toList(long[] a) {
        List<Long> l = new ArrayList<>();
        for (long v : a) l.add(v);
        return l;
    }

    private static List<Long> longs(JsonArray a) {
        List<Long> l = new ArrayList<>();
        for (JsonElement e : a) l.add(e.getAsLong());
        return l;
    }

    private static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }
}
