package dev.gguflens.cli;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.gguflens.experiment.CompareReport;
import dev.gguflens.experiment.CompareReport.Layer;
import dev.gguflens.experiment.CompareReport.Variant;
import dev.gguflens.experiment.ProbeReport;
import dev.gguflens.gguf.GgufFile;
import dev.gguflens.lens.HeadLookup;
import dev.gguflens.lens.LensHead;
import dev.gguflens.lens.LensKind;
import dev.gguflens.lens.ReferenceLens;
import dev.gguflens.llama.Capture;
import dev.gguflens.llama.CaptureRequest;
import dev.gguflens.llama.ContextParams;
import dev.gguflens.llama.LlamaContext;
import dev.gguflens.llama.LlamaModel;
import dev.gguflens.llama.ModelParams;
import dev.gguflens.report.CompareCsv;
import dev.gguflens.report.Json;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import picocli.CommandLine;

import javax.xml.parsers.DocumentBuilderFactory;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import static dev.gguflens.testmodels.Fixtures.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code compare -m stories260K.gguf --quantize Q8_0,Q4_0} end to end through the CLI: the variants are made
 * and cached, the table printed, and compare.json / compare-layers.csv / compare.svg written and read back
 * with every field; the per-layer KL is checked against an independent double-precision lens.
 */
class CompareCommandTest {
    static final String STORY = "Once upon a time, there was a little girl named";

    @TempDir static Path dir;
    static Path prompts;
    static String stdout;
    static CompareReport report;
    static String json;
    static double seconds;


    static CliRun run(String... args) {
        return CliRun.of(args);
    }

    @BeforeAll
    static void compare() throws Exception {
        requireNative();
        Path model = stories260K();
        prompts = dir.resolve("prompts.jsonl");
        Files.writeString(prompts, "{\"prompt\": \"" + STORY + "\", \"expected\": \"Lily\"}\n\n"
                + "{\"prompt\": \"One day, the little dog saw a big\", \"expected\": [\"ball\", \"tree\"]}\n");
        long start = System.nanoTime();
        CliRun r = run("compare", "-m", model.toString(), "--quantize", "Q8_0,Q4_0", "--cache-dir", dir.resolve("cache").toString(),
                "--prompts", prompts.toString(), "--out", dir.resolve("out").toString(), "-t", "2", "--top-k", "5");
        seconds = (System.nanoTime() - start) / 1e9;
        System.out.printf("stories260K compare (2 quantisations, 3 models x 2 prompts): %.2f s%n", seconds);
        assertEquals(0, r.code(), r.err());
        stdout = r.out();
        json = Files.readString(dir.resolve("out/compare.json"));
        report = Json.read(json, CompareReport.class);
    }

    @Test
    void tableAndFilesAreWrittenWithNoLeftovers() throws Exception {
        assertTrue(stdout.startsWith("Reference: stories260K "), stdout);
        for (String name : List.of("stories260K *", "stories260K-Q8_0", "stories260K-Q4_0")) {
            assertTrue(stdout.contains("\n" + name + " "), name + " row missing:\n" + stdout);
        }
        assertEquals(stdout, Files.readString(dir.resolve("out/compare.txt")));
        long multi = report.prompts().stream().filter(CompareReport.PromptInfo::multiToken).count();
        assertEquals(multi > 0, stdout.contains("Answers of several tokens: " + multi + " of 2 prompts"), stdout);
        try (Stream<Path> files = Files.list(dir.resolve("out"))) {
            assertEquals(Set.of("compare.txt", "compare.json", "compare-layers.csv", "compare.svg", "compare.html"),
                    Set.copyOf(files.map(p -> p.getFileName().toString()).toList()));
        }
        try (Stream<Path> files = Files.list(dir.resolve("cache"))) {
            assertEquals(Set.of("stories260K-Q8_0.gguf", "stories260K-Q4_0.gguf"),
                    Set.copyOf(files.map(p -> p.getFileName().toString()).toList()));
        }
    }

    @Test
    void jsonHasEveryFieldAndConsistentValues() throws Exception {
        JsonObject root = JsonParser.parseString(json).getAsJsonObject();
        assertEquals(Set.of("reference", "lens", "top_k", "answer_mode", "prompts", "variants", "summary"), root.keySet());
        assertEquals("first", root.get("answer_mode").getAsString());
        JsonObject variant = root.getAsJsonArray("variants").get(1).getAsJsonObject();
        assertEquals(Set.of("name", "file", "reference", "file_type", "output_weight_type", "file_bytes", "n_params",
                "bits_per_weight", "model_load_ms", "prompts", "kv_cache", "backend"), variant.keySet());
        JsonObject backend = variant.getAsJsonObject("backend");
        assertEquals(0, backend.get("layers_offloaded").getAsInt(), "a run without a GPU offloads nothing");
        assertEquals("CPU", backend.getAsJsonArray("backends").get(backend.getAsJsonArray("backends").size() - 1).getAsString());
        assertTrue(variant.getAsJsonObject("kv_cache").get("exact").getAsBoolean(), "compare runs exact by default too");
        JsonObject prompt = variant.getAsJsonArray("prompts").get(0).getAsJsonObject();
        assertEquals(Set.of("prompt", "layers", "milestones", "milestone_shift"), prompt.keySet());
        JsonObject layer = prompt.getAsJsonArray("layers").get(3).getAsJsonObject();
        assertEquals(Set.of("probe", "vs_reference"), layer.keySet());
        assertEquals(Set.of("layer", "kl_bits", "top1_agree", "top1_id", "reference_top1_id", "topk_jaccard", "residual_cos"),
                layer.getAsJsonObject("vs_reference").keySet());
        assertTrue(layer.getAsJsonObject("probe").keySet().containsAll(Set.of("entropy_bits", "top", "expected",
                "kl_to_final_bits", "cos_to_final", "residual_norm")));
        assertEquals(Set.of("first_rank1", "first_rank_le_5", "first_kl_below_1_bit"),
                prompt.getAsJsonObject("milestone_shift").keySet());
        JsonObject summary = root.getAsJsonArray("summary").get(2).getAsJsonObject();
        assertEquals(Set.of("variant", "mean_kl_bits", "mean_kl_all_layers_bits", "top1_flip_rate", "median_expected_rank",
                "median_answer_logprob", "milestones", "shifts"), summary.keySet());
        assertTrue(summary.get("median_answer_logprob").isJsonNull(), "first mode has no whole-answer view");
        JsonObject stat = summary.getAsJsonObject("milestones").getAsJsonObject("first_rank1");
        assertEquals(Set.of("count", "present", "q1", "median", "q3", "iqr"), stat.keySet());
        assertNoNonFiniteNumbers(root, "compare.json");

        assertEquals("stories260K", report.reference());
        assertEquals(5, report.topK());
        assertEquals(2, report.prompts().size());
        assertEquals("ball", report.prompts().get(1).expected(), "the first expected answer is the tracked one");
        List<String> types = report.variants().stream().map(Variant::fileType).toList();
        assertEquals(List.of("Q8_0", "Q4_0"), types.subList(1, 3));
        for (Variant v : report.variants()) {
            assertEquals(Files.size(Path.of(v.file())), v.fileBytes(), v.name());
            assertEquals(8.0 * v.fileBytes() / v.nParams(), v.bitsPerWeight(), 1e-12);
            assertEquals(2, v.prompts().size());
            for (var r : v.prompts()) {
                assertEquals(6, r.layers().size(), "stories260K: 5 blocks + embeddings");
                for (Layer l : r.layers()) {
                    assertEquals(l.probe().layer(), l.vsReference().layer());
                    if (v.reference()) assertEquals(0.0, l.vsReference().klBits());
                    assertEquals(l.vsReference().top1Agree(), l.vsReference().top1Id() == l.vsReference().referenceTop1Id());
                    assertEquals(l.probe().top().getFirst().id(), l.vsReference().top1Id(), "lens top-1 and kept log-probs agree");
                }
            }
        }
        Variant f32 = report.variants().getFirst();
        assertEquals(" Lily", f32.prompts().getFirst().layers().getLast().probe().top().getFirst().token());
        assertTrue(report.summary().get(2).meanKlAllLayersBits() > report.summary().get(1).meanKlAllLayersBits(),
                "Q4_0 moves the lens more than Q8_0");
    }

    private static void assertNoNonFiniteNumbers(JsonElement e, String where) {
        if (e.isJsonObject()) e.getAsJsonObject().entrySet().forEach(x -> assertNoNonFiniteNumbers(x.getValue(), where + "." + x.getKey()));
        else if (e.isJsonArray()) e.getAsJsonArray().forEach(x -> assertNoNonFiniteNumbers(x, where + "[]"));
        else if (e.isJsonPrimitive() && e.getAsJsonPrimitive().isNumber()) {
            assertTrue(Double.isFinite(e.getAsDouble()), where + " = " + e);
        }
    }

    @Test
    void csvHasARowPerVariantPromptAndLayerMatchingTheJson() throws Exception {
        List<String> lines = Files.readAllLines(dir.resolve("out/compare-layers.csv"), StandardCharsets.UTF_8);
        assertEquals(String.join(",", CompareCsv.HEADER), lines.getFirst());
        List<List<String>> rows = lines.subList(1, lines.size()).stream().map(CompareCommandTest::parseCsvLine).toList();
        assertEquals(3 * 2 * 6, rows.size());
        int i = 0;
        for (Variant v : report.variants()) {
            for (var r : v.prompts()) {
                for (Layer l : r.layers()) {
                    List<String> row = rows.get(i++);
                    assertEquals(CompareCsv.HEADER.size(), row.size(), String.join("|", row));
                    assertEquals(v.name(), row.get(0));
                    assertEquals(String.valueOf(v.reference()), row.get(1));
                    assertEquals(r.prompt(), Integer.parseInt(row.get(2)));
                    assertEquals(report.prompts().get(r.prompt()).prompt(), row.get(3));
                    assertEquals(l.probe().layer(), Integer.parseInt(row.get(4)));
                    assertEquals(l.probe().entropyBits(), Double.parseDouble(row.get(5)), 1e-8 * (1 + l.probe().entropyBits()));
                    assertEquals(l.probe().top().getFirst().id(), Integer.parseInt(row.get(6)));
                    assertEquals(l.probe().expected().getFirst().rank(), Integer.parseInt(row.get(11)));
                    int kl = CompareCsv.HEADER.indexOf("kl_to_reference_bits");
                    assertEquals(l.vsReference().klBits(), Double.parseDouble(row.get(kl)), 1e-8 * (1 + l.vsReference().klBits()));
                    assertEquals(l.vsReference().top1Agree(), Boolean.parseBoolean(row.get(kl + 1)));
                    assertEquals(l.vsReference().topKJaccard(), Double.parseDouble(row.get(kl + 3)), 1e-8);
                    assertEquals(l.vsReference().residualCosine(), Double.parseDouble(row.get(kl + 4)), 1e-8);
                    // first mode: one-token answers, no whole-answer columns
                    CompareReport.PromptInfo info = report.prompts().get(r.prompt());
                    assertEquals(String.valueOf(info.answerTokens().size()), row.get(CompareCsv.HEADER.indexOf("expected_answer_tokens")));
                    assertEquals(info.answerTokens().size() > 1, info.multiToken());
                    assertEquals("", row.get(CompareCsv.HEADER.indexOf("answer_logprob")));
                }
            }
        }
    }

    /** RFC 4180 fields of one line (the prompts here have commas but no newlines). */
    static List<String> parseCsvLine(String line) {
        List<String> out = new ArrayList<>();
        StringBuilder cell = new StringBuilder();
        boolean quoted = false;
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (quoted) {
                if (c == '"' && i + 1 < line.length() && line.charAt(i + 1) == '"') {
                    cell.append('"');
                    i++;
                } else if (c == '"') quoted = false;
                else cell.append(c);
            } else if (c == '"') quoted = true;
            else if (c == ',') {
                out.add(cell.toString());
                cell.setLength(0);
            } else cell.append(c);
        }
        out.add(cell.toString());
        return out;
    }

    /** KL(Q8_0 || F32) per layer from a double-precision lens over freshly captured states of both models. */
    @Test
    void klAgreesWithAnIndependentDoublePrecisionLens() {
        Variant q8 = report.variants().get(1);
        double[][] f32Logits = referenceLensLogits(Path.of(report.variants().get(0).file()));
        double[][] q8Logits = referenceLensLogits(Path.of(q8.file()));
        for (int layer = 0; layer < f32Logits.length; layer++) {
            double expected = ReferenceLens.klNats(q8Logits[layer], f32Logits[layer]) / Math.log(2);
            double actual = q8.prompts().getFirst().layers().get(layer).vsReference().klBits();
            assertEquals(expected, actual, 2e-5 + 1e-3 * expected, "layer " + layer);
        }
    }

    private static double[][] referenceLensLogits(Path model) {
        try (GgufFile file = GgufFile.open(model);
             LlamaModel m = LlamaModel.load(model, ModelParams.defaults());
             LlamaContext ctx = LlamaContext.create(m, new ContextParams(128, 128, 2))) {
            int[] tokens = m.tokenize(STORY, true, false);
            try (Capture capture = ctx.capture(tokens, CaptureRequest.all())) {
                ReferenceLens lens = new ReferenceLens(HeadLookup.fromGguf(file));
                double[][] out = new double[capture.layers()][];
                for (int l = 0; l < out.length; l++) out[l] = lens.logits(LensKind.NORM, capture.layerStateArray(l, tokens.length - 1));
                return out;
            }
        }
    }

    @Test
    void svgIsWellFormedWithACurvePerVariantInBothCharts() throws Exception {
        Document svg = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(dir.resolve("out/compare.svg").toFile());
        assertEquals("svg", svg.getDocumentElement().getNodeName());
        var groups = svg.getElementsByTagName("g");
        int series = 0;
        for (int i = 0; i < groups.getLength(); i++) {
            if ("series".equals(groups.item(i).getAttributes().getNamedItem("class") == null ? null
                    : groups.item(i).getAttributes().getNamedItem("class").getNodeValue())) series++;
        }
        assertEquals(6, series, "3 variants x 2 charts");
    }

    @Test
    void htmlHasTheMilestoneTableAndACurvePerVariant() throws Exception {
        String html = Files.readString(dir.resolve("out/compare.html"));
        var table = java.util.regex.Pattern.compile("<table id=\"milestones\">(.*?)</table>", java.util.regex.Pattern.DOTALL).matcher(html);
        assertTrue(table.find(), "milestone table");
        assertEquals(1 + 3, table.group(1).split("<tr").length - 1, "a header and one row per variant");
        for (String name : List.of("stories260K", "stories260K-Q8_0", "stories260K-Q4_0")) {
            assertTrue(table.group(1).contains("<td>" + name), name + " row");
        }
        assertEquals(6, html.split("<g class=\"series\"").length - 1, "3 variants x 2 charts, inline");
        assertFalse(html.contains("<?xml"), "the SVG is inlined without its XML declaration");
        assertFalse(java.util.regex.Pattern.compile("(src|href)\\s*=", java.util.regex.Pattern.CASE_INSENSITIVE).matcher(html).find(),
                "self-contained: no external resources");
    }

    @Test
    void secondRunReusesTheCachedVariantsAndHonoursReference() throws Exception {
        Path q8 = dir.resolve("cache/stories260K-Q8_0.gguf");
        FileTime before = Files.getLastModifiedTime(q8);
        Path out = dir.resolve("out2");
        CliRun r = run("compare", "-m", stories260K().toString(), "--quantize", "q8_0,Q4_0", "--cache-dir", dir.resolve("cache").toString(),
                "-p", STORY, "--expect", "Lily", "--reference", "Q8_0", "--out", out.toString(), "-t", "2", "-q");
        assertEquals(0, r.code(), r.err());
        assertEquals("", r.out(), "-q prints no table");
        assertEquals(before, Files.getLastModifiedTime(q8), "cached variant reused, not remade");
        CompareReport second = Json.read(Files.readString(out.resolve("compare.json")), CompareReport.class);
        assertEquals("stories260K-Q8_0", second.reference());
        assertTrue(second.variants().get(1).reference());
        assertEquals(0.0, second.summary().get(1).meanKlAllLayersBits());
    }

    @Test
    void badRequestsAreRefusedInOneLine() {
        String model = stories260K().toString();
        CliRun imatrix = run("compare", "-m", model, "--quantize", "Q8_0", "--imatrix", "x.dat", "-p", "a");
        assertEquals(Main.EXIT_RUNTIME, imatrix.code());
        assertTrue(imatrix.err().startsWith("gguf-lens: x.dat"), imatrix.err());
        CliRun stray = run("compare", "-m", model, "-m", model, "--imatrix", "x.dat", "-p", "a");
        assertEquals(Main.EXIT_USAGE, stray.code());
        assertTrue(stray.err().startsWith("gguf-lens: --imatrix goes with --quantize"), stray.err());
        CliRun type = run("compare", "-m", model, "--quantize", "Q8_0,Q9_X", "-p", "a");
        assertEquals(Main.EXIT_USAGE, type.code());
        assertTrue(type.err().startsWith("gguf-lens: --quantize 'Q9_X' is not a known type (valid: F32, "), type.err());
        CliRun one = run("compare", "-m", model, "-p", "a");
        assertEquals(Main.EXIT_USAGE, one.code());
        assertEquals("gguf-lens: compare needs at least two -m models, or one with --quantize TYPES", one.err().strip());
        CliRun ref = run("compare", "-m", model, "-m", model, "-p", "a", "--reference", "nope");
        assertEquals(Main.EXIT_USAGE, ref.code());
        assertTrue(ref.err().startsWith("gguf-lens: --reference 'nope' is none of the models"), ref.err());
        CliRun both = run("compare", "-m", model, "-m", model, "-p", "a", "--suite", "capitals");
        assertEquals("gguf-lens: give only one of -p, --prompts and --suite", both.err().strip());
        CliRun suite = run("compare", "-m", model, "-m", model, "--suite", "rivers");
        assertEquals("gguf-lens: --suite 'rivers' is unknown (built-in suites: capitals)", suite.err().strip());
        assertEquals(0, run("compare", "--help").code());
    }

    /**
     * {@code --answer-mode sequence}: a four-token answer (stories260K's 'Berlin' = ' B' 'er' 'l' 'in') is scored
     * whole per variant and layer, equal to the probe's own sequence view of the same model, in every output, and
     * the rank milestone follows the whole answer's worst token rank.
     */
    @Test
    void sequenceModeScoresTheWholeAnswerPerVariantAndLayer() throws Exception {
        String model = stories260K().toString();
        Path out = dir.resolve("sequence");
        CliRun r = run("compare", "-m", model, "--quantize", "Q8_0", "--cache-dir", dir.resolve("cache").toString(),
                "-p", STORY, "--expect", "Berlin", "--answer-mode", "sequence", "--out", out.toString(), "-t", "2");
        assertEquals(0, r.code(), r.err());
        System.out.println(r.out());
        assertTrue(r.out().contains("Answers of several tokens: 1 of 1 prompts (e.g. 'Berlin' = ' B' 'er' 'l' 'in')."), r.out());
        assertTrue(r.out().contains("Whole answer per layer (median over prompts)"), r.out());
        CompareReport seq = Json.read(Files.readString(out.resolve("compare.json")), CompareReport.class);
        assertEquals("sequence", seq.answerMode());
        CompareReport.PromptInfo info = seq.prompts().getFirst();
        assertTrue(info.multiToken());
        assertEquals(List.of(" B", "er", "l", "in"), info.answerTokens().stream().map(ProbeReport.TokenInfo::text).toList());

        CliRun probe = run("probe", "-m", model, "-p", STORY, "--expect", "Berlin", "--answer-mode", "sequence", "-t", "2",
                "-q", "--out", dir.resolve("sequence-probe").toString());
        assertEquals(0, probe.code(), probe.err());
        ProbeReport single = Json.read(Files.readString(dir.resolve("sequence-probe/stories260K.json")), ProbeReport.class);
        for (int v = 0; v < seq.variants().size(); v++) {
            List<CompareReport.Layer> layers = seq.variants().get(v).prompts().getFirst().layers();
            Double[] median = seq.summary().get(v).medianAnswerLogProb();
            Integer firstWhole = null;
            for (int l = 0; l < layers.size(); l++) {
                ProbeReport.Expected e = layers.get(l).probe().expected().getFirst();
                assertNotNull(e.answerLogProb(), "layer " + l);
                assertTrue(e.answerLogProb() < Math.log(e.p()), "the whole answer is less likely than its first token");
                assertEquals(e.answerLogProb(), median[l], 0.0, "one prompt: the median is its value");
                if (firstWhole == null && e.answerWorstRank() == 1) firstWhole = l;
                if (seq.variants().get(v).reference()) {
                    ProbeReport.Expected p = single.layers().get(l).expected().getFirst();
                    assertEquals(p.answerLogProb(), e.answerLogProb(), 1e-9, "compare and probe agree, layer " + l);
                    assertEquals(p.answerWorstRank(), e.answerWorstRank());
                }
            }
            assertEquals(firstWhole, seq.variants().get(v).prompts().getFirst().milestones().firstRank1().layer());
        }
        List<String> csv = Files.readAllLines(out.resolve("compare-layers.csv"));
        List<String> header = List.of(csv.getFirst().split(","));
        int tokensColumn = header.indexOf("expected_answer_tokens"), logProbColumn = header.indexOf("answer_logprob");
        assertTrue(tokensColumn > 0 && logProbColumn > 0, csv.getFirst());
        for (String line : csv.subList(1, csv.size())) {
            List<String> cells = parseCsvLine(line);
            assertEquals("4", cells.get(tokensColumn), line);
            assertTrue(Double.parseDouble(cells.get(logProbColumn)) < 0, line);
        }
        String html = Files.readString(out.resolve("compare.html"));
        assertTrue(html.contains("id=\"whole-answer\"") && html.contains("class=\"answer-tokens\">(4 tokens:"), html);
    }
}
