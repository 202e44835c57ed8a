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

    /** JSONL: {"prompt": "...", "expected": "..." | ["...", ...]} per line; blank lines skipped. */
    public static List<PromptSpec> readJsonl(Path file) throws IOException {
        if (!Files.isRegularFile(file)) throw new IllegalArgumentException(file + ": no such file");
        List<PromptSpec> specs = new ArrayList<>();
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
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
                specs.add(new PromptSpec(o.get("prompt").getAsString(), answers));
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
