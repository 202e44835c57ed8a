package dev.gguflens.cli;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.gguflens.experiment.Ablation;
import dev.gguflens.experiment.AblationReport;
import dev.gguflens.experiment.ModelSession;
import dev.gguflens.experiment.ProbeSettings;
import dev.gguflens.lens.LensKind;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static dev.gguflens.testmodels.Fixtures.requireNative;
import static dev.gguflens.testmodels.Fixtures.stories260K;
import static org.junit.jupiter.api.Assertions.*;

/** {@code gguf-lens ablate} through the CLI: the text and JSON against the library's result, and bad input. */
class AblateCommandTest {
    static final String PROMPT = "Once upon a time, there was a little girl named";
    /** Every head of block 2 (stories260K: 8 heads of 8). */
    static final String BLOCK_2_HEADS = IntStream.range(0, 8).mapToObj(h -> "2." + h).collect(Collectors.joining(","));

    @BeforeAll
    static void nativeLibrary() {
        requireNative();
    }

    @Test
    void ablatingEveryHeadOfABlockReportsTheLibrarysProbabilities(@TempDir Path dir) throws IOException {
        Path json = dir.resolve("ablate.json");
        CliRun r = CliRun.of("ablate", "-m", stories260K().toString(), "-p", PROMPT, "--expect", "Lily", "--heads", BLOCK_2_HEADS,
                "-t", "2", "--top-k", "3", "--json", json.toString());
        assertEquals(0, r.exit(), r.err());

        AblationReport expected;
        try (ModelSession session = ModelSession.open(stories260K(), new ProbeSettings(LensKind.NORM, 3, false, 0, 2, 0, List.of()), null)) {
            List<Ablation.Target> all = IntStream.range(0, 8).mapToObj(h -> new Ablation.Target(2, h)).toList();
            expected = Ablation.run(session, PROMPT, "Lily", Ablation.Kind.HEADS, all, List.of(), 3);
        }
        // The ablation matters (block 2's attention carries the name), and the CLI reports exactly the library's numbers.
        assertTrue(expected.before().p() > 0.5 && Math.abs(expected.after().p() - expected.before().p()) > 1e-3,
                expected.before().p() + " -> " + expected.after().p());
        JsonObject o = JsonParser.parseString(Files.readString(json)).getAsJsonObject();
        assertEquals(expected.answerId(), o.get("answer_id").getAsInt());
        assertEquals(" Lily", o.get("answer_token").getAsString());
        assertEquals("zero", o.get("mode").getAsString());
        assertEquals(List.of("kqv_out-2"), o.getAsJsonArray("tensors").asList().stream().map(e -> e.getAsString()).toList());
        assertEquals(8, o.getAsJsonArray("targets").size());
        assertEquals(expected.before().p(), o.getAsJsonObject("before").get("p").getAsDouble(), 0.0);
        assertEquals(expected.after().p(), o.getAsJsonObject("after").get("p").getAsDouble(), 0.0);
        assertEquals(expected.after().rank(), o.getAsJsonObject("after").get("rank").getAsInt());
        assertEquals(3, o.getAsJsonObject("after").getAsJsonArray("top").size());

        String line = String.format(Locale.ROOT, "answer 'Lily' (token %d ' Lily'): p %.4f -> %.4f, rank %d -> %d",
                expected.answerId(), expected.before().p(), expected.after().p(), expected.before().rank(), expected.after().rank());
        assertTrue(r.out().contains(line), r.out());
        assertTrue(r.out().startsWith("Ablation of heads 2.0, 2.1,"), r.out());
        assertTrue(r.out().contains("top-3 without:") && r.out().contains("top-3 with   :"), r.out());
    }

    @Test
    void meanAblationOfNeuronsNamesTheActivationTensor(@TempDir Path dir) throws IOException {
        Path json = dir.resolve("neurons.json");
        CliRun r = CliRun.of("ablate", "-m", stories260K().toString(), "-p", PROMPT, "--expect", "Lily", "--neurons", "4:100,4:3",
                "--mean-over", "The cat sat on the mat.", "-t", "2", "-q", "--json", json.toString());
        assertEquals(0, r.exit(), r.err());
        assertEquals("", r.out(), "-q prints nothing");
        JsonObject o = JsonParser.parseString(Files.readString(json)).getAsJsonObject();
        assertEquals("neurons", o.get("kind").getAsString());
        assertEquals("mean", o.get("mode").getAsString());
        assertEquals(1, o.get("mean_prompts").getAsInt());
        assertEquals("ffn_swiglu-4", o.getAsJsonArray("tensors").get(0).getAsString());
    }

    @Test
    void badInputIsOneLineAndANonZeroExit(@TempDir Path dir) {
        String model = stories260K().toString();
        List<List<String>> usage = List.of(
                List.of("--heads", "9.0"),                       // block outside the model's 5
                List.of("--heads", "2.8"),                       // head outside the block's 8
                List.of("--heads", "3:1"),                       // a neuron's syntax for a head
                List.of("--neurons", "1:100000"),                // neuron outside the MLP's width
                List.of("--heads", "2.0", "--neurons", "1:1"),   // both kinds at once
                List.of(),                                       // neither
                List.of("--heads", "2.0", "--top-k", "0"));
        for (List<String> extra : usage) {
            List<String> args = new java.util.ArrayList<>(List.of("ablate", "-m", model, "-p", PROMPT, "--expect", "Lily", "-t", "2"));
            args.addAll(extra);
            CliRun r = CliRun.of(args.toArray(String[]::new));
            assertEquals(2, r.exit(), extra + ": " + r.err());
            assertTrue(r.err().startsWith("gguf-lens: ") && r.err().strip().lines().count() == 1, extra + ": " + r.err());
        }
        CliRun missing = CliRun.of("ablate", "-m", dir.resolve("absent.gguf").toString(), "-p", PROMPT, "--expect", "Lily",
                "--heads", "0.0");
        assertEquals(1, missing.exit(), missing.err());
        assertTrue(missing.err().startsWith("gguf-lens: ") && missing.err().contains("absent.gguf")
                && missing.err().strip().lines().count() == 1, missing.err());
    }
}
