package dev.gguflens.experiment;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Prompt sets shared by probe and compare: the JSONL file format and the built-in suites. */
public final class PromptSets {
    /** Country -> capital for the built-in {@code capitals} suite. */
    private static final Map<String, String> CAPITALS = new LinkedHashMap<>();

    static {
        CAPITALS.put("Germany", "Berlin");
        CAPITALS.put("France", "Paris");
        CAPITALS.put("Italy", "Rome");
        CAPITALS.put("Japan", "Tokyo");
        CAPITALS.put("Canada", "Ottawa");
        CAPITALS.put("Spain", "Madrid");
        CAPITALS.put("Russia", "Moscow");
        CAPITALS.put("Egypt", "Cairo");
        CAPITALS.put("Greece", "Athens");
        CAPITALS.put("Austria", "Vienna");
        CAPITALS.put("Poland", "Warsaw");
        CAPITALS.put("Portugal", "Lisbon");
        CAPITALS.put("Norway", "Oslo");
        CAPITALS.put("Sweden", "Stockholm");
        CAPITALS.put("Kenya", "Nairobi");
        CAPITALS.put("Peru", "Lima");
    }

    /** The names {@link #builtIn} accepts. */
    public static final List<String> SUITES = List.of("capitals");

    private PromptSets() {}

    /** A built-in suite by name (case-insensitive). */
    public static List<PromptSpec> builtIn(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "capitals" -> CAPITALS.entrySet().stream()
                    .map(e -> new PromptSpec("Question: What is the capital of " + e.getKey() + "? Answer:", e.getValue()))
                    .toList();
            default -> throw new InvalidInputException("suite", name, "is unknown (built-in suites: "
                    + String.join(", ", SUITES) + ")");
        };
    }

    /** Prompts one set may hold: each runs a full forward pass and lens, so more is a mistake, not a workload. */
    public static final int MAX_PROMPTS = 100_000;
    /** Bytes a prompt file may have (read whole into memory). */
    public static final long MAX_FILE_BYTES = 256L << 20;

    /** The file's lines, each decoded strictly: a line that is not UTF-8 is named with its number and byte column. */
    private static List<String> utf8Lines(Path file, byte[] bytes) {
        List<String> lines = new ArrayList<>();
        int start = 0;
        for (int line = 1; start <= bytes.length; line++) {
            int end = start;
            while (end < bytes.length && bytes[end] != '\n') end++;
            var decoder = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
                    .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT);
            java.nio.ByteBuffer in = java.nio.ByteBuffer.wrap(bytes, start, end - start);
            java.nio.CharBuffer out = java.nio.CharBuffer.allocate(end - start);
            var result = decoder.decode(in, out, true);
            if (!result.isError()) result = decoder.flush(out);
            if (result.isError()) {
                // the decoder stops at the first byte of the sequence it could not decode
                throw new InvalidInputException(file + " line " + line + ": not UTF-8 (byte 0x"
                        + String.format("%02x", bytes[in.position()] & 0xff) + " at column " + (in.position() - start + 1) + ")");
            }
            lines.add(out.flip().toString());
            start = end + 1;
        }
        return lines;
    }

    /** JSONL: {"prompt": "...", "expected": "..." | ["...", ...]} per line; blank lines skipped. */
    public static List<PromptSpec> readJsonl(Path file) throws IOException {
        String problem = dev.gguflens.gguf.InputFiles.problem(file);
        if (problem != null) throw new IllegalArgumentException(file + ": " + problem);
        long size = Files.size(file);
        if (size > MAX_FILE_BYTES) {
            throw new InvalidInputException(file + ": " + size + " bytes; a prompt file may hold at most " + MAX_FILE_BYTES + " bytes");
        }
        List<PromptSpec> specs = new ArrayList<>();
        List<String> lines = utf8Lines(file, Files.readAllBytes(file));
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty()) continue;
            try {
                JsonObject o = JsonParser.parseString(line).getAsJsonObject();
                if (!o.has("prompt")) throw new IllegalStateException("no \"prompt\"");
                List<String> answers = new ArrayList<>();
                if (o.has("expected") && !o.get("expected").isJsonNull()) {
                    if (o.get("expected").isJsonArray()) o.getAsJsonArray("expected").forEach(e -> answers.add(e.getAsString()));
                    else answers.add(o.get("expected").getAsString());
                }
                if (specs.size() == MAX_PROMPTS) {
                    throw new InvalidInputException(file + " line " + (i + 1) + ": more than " + MAX_PROMPTS + " prompts; split the set");
                }
                specs.add(new PromptSpec(o.get("prompt").getAsString(), answers));
            } catch (InvalidInputException e) {
                throw e;
            } catch (RuntimeException e) {
                String reason = e.getMessage() == null ? e.getClass().getSimpleName()
                        : e.getMessage().replaceAll("\\s*[\\r\\n]+\\s*", " ").strip();
                throw new InvalidInputException(file + " line " + (i + 1) + ": not a prompt record (" + reason + ")");
            }
        }
        if (specs.isEmpty()) throw new InvalidInputException(file + ": no prompts");
        return specs;
    }
}
