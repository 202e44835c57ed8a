package dev.gguflens.cli;

import dev.gguflens.download.ModelResolver;
import dev.gguflens.experiment.InvalidInputException;
import dev.gguflens.experiment.ModelSession;
import dev.gguflens.experiment.Probe;
import dev.gguflens.experiment.ProbeReport;
import dev.gguflens.experiment.ProbeSettings;
import dev.gguflens.experiment.PromptSpec;
import dev.gguflens.experiment.PromptSets;
import dev.gguflens.experiment.SeedExperiment;
import dev.gguflens.report.HeatmapPng;
import dev.gguflens.report.HtmlReport;
import dev.gguflens.report.OutputSet;
import dev.gguflens.report.ProbeOutputs;
import dev.gguflens.report.TextReport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;

/** {@code gguf-lens probe}: the layer-by-layer logit lens for one or more models. */
@Command(name = "probe", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
            "Shows, layer by layer, what a model would predict if it stopped there (the logit lens).",
            "Runs a prompt through llama.cpp, captures the residual stream after every block and projects it through",
            "the model's final norm and output weight: top tokens, entropy, the expected answer's rank, KL to the",
            "final distribution and the layer where the answer emerges.",
            "Without -p it runs the seed experiment: 'Question: What is the capital of Germany? Answer:' with",
            "expected answer 'Berlin', three paraphrase prompts and a temperature sweep at 0.1 and 2.0."},
        footer = {"", "Examples:",
            "  gguf-lens probe                       (the seed experiment on Qwen3-8B Q4_K_M, downloaded once)",
            "  gguf-lens probe -m models/Qwen3-8B-Q4_K_M.gguf --html qwen3.html",
            "  gguf-lens probe -m hf://Qwen/Qwen3-8B-GGUF:Q8_0",
            "  gguf-lens probe -m stories260K.gguf -p 'Once upon a time, there was a little girl named' --expect Lily",
            "  gguf-lens probe -m a.gguf -m b.gguf --lens rms --positions all --out results/",
            "", "Exit codes: 0 success, 1 runtime failure (bad file, llama.cpp error), 2 invalid usage."})
public final class ProbeCommand implements Callable<Integer> {

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = {"-m", "--model"}, paramLabel = "MODEL",
            description = {"GGUF file, or a Hugging Face model hf://OWNER/REPO[:QUANT] (downloaded once into models/ or",
                "$GGUF_LENS_MODELS); repeat to probe several models one after another, each freed before the next loads.",
                "Default: " + ModelResolver.DEFAULT_MODEL + "."})
    List<String> models = new ArrayList<>();

    @Option(names = {"-p", "--prompt"}, paramLabel = "PROMPT", description = "Prompt to probe (default: the seed experiment).")
    String prompt;

    @Option(names = "--expect", paramLabel = "TEXT",
            description = "Expected answer whose first token is tracked through the layers; repeatable.")
    List<String> expected = new ArrayList<>();

    @Mixin
    AnswerModeOption answer = new AnswerModeOption();

    @Option(names = "--prompts", paramLabel = "FILE.jsonl",
            description = "Prompt set: one JSON object per line with \"prompt\" and optional \"expected\" (string or list).")
    Path promptsFile;

    @Mixin
    RunOptions run = new RunOptions();

    @Option(names = "--top-k", defaultValue = "10", paramLabel = "N", description = "Top tokens per layer (default ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = "--positions", paramLabel = "last|all",
            description = "Lens at the last prompt position only or at every position (default: all when an HTML or PNG"
                    + " heatmap is written, i.e. with --html, --png or --out; else last).")
    String positions;




    @Option(names = "--temperatures", split = ",", paramLabel = "T[,T...]",
            description = "Temperatures for the sweep over the final logits (default with the seed experiment: 0.1,2.0).")
    List<Double> temperatures;

    @Option(names = "--out", paramLabel = "DIR",
            description = "Write <model>.txt, .json, .html, -records.csv and -pure-next-token.csv here.")
    Path outDir;

    @Option(names = "--html", paramLabel = "FILE.html",
            description = "Write the self-contained HTML report (layer x position heatmap) here (one model, one prompt).")
    Path htmlFile;

    @Option(names = "--png", paramLabel = "FILE.png", description = "Write the heatmap as a PNG image here (one model, one prompt).")
    Path pngFile;

    @Option(names = "--sublayers",
            description = "Also lens the residual after each block's attention (before its MLP): one more row per block.")
    boolean sublayers;

    @Option(names = "--timings", description = "Print model load, forward pass, lens and report times and peak RSS.")
    boolean timings;

    @Option(names = {"-q", "--quiet"}, description = "No report on stdout (files are still written) and no progress.")
    boolean quiet;

    @Override
    public Integer call() throws IOException {
        run.connectRpcServers();
        ProbeSettings settings = settings();
        List<PromptSpec> mainPrompts = mainPrompts();
        List<PromptSpec> extras = prompt == null && promptsFile == null ? SeedExperiment.EXTRA_PROMPTS : List.of();
        if ((htmlFile != null || pngFile != null) && (models.size() > 1 || mainPrompts.size() > 1)) {
            throw new InvalidInputException("--html/--png take one model and one prompt; use --out DIR for several");
        }
        if (outDir != null) OutputTargets.requireDirectory("--out", outDir);
        if (htmlFile != null) OutputTargets.requireFile("--html", htmlFile);
        if (pngFile != null) OutputTargets.requireFile("--png", pngFile);

        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        List<Path> files = ModelFiles.resolve(models, err, quiet);
        Set<String> usedNames = new HashSet<>();
        for (Path model : files) {
            try (ModelSession session = ModelFiles.open(model, settings, err, quiet, true)) {
                List<ProbeReport> reports = new ArrayList<>();
                boolean promptSet = mainPrompts.size() > 1;
                try (ProgressBar bar = ProgressBar.start("prompts", mainPrompts.size(), ProgressBar.Unit.COUNT, err,
                        quiet || !promptSet)) {
                    for (PromptSpec p : mainPrompts) {
                        reports.add(Probe.report(session, p, extras, timings, sublayers));
                        bar.step();
                    }
                }
                String name = uniqueName(reports.getFirst().model().name(), usedNames);
                for (ProbeReport report : reports) {
                    if (!quiet) {
                        out.print(TextReport.render(report, timings));
                        out.println();
                        out.flush();
                    }
                }
                if (outDir != null) ProbeOutputs.write(outDir, name, reports);
                if (htmlFile != null) OutputSet.writeText(htmlFile, HtmlReport.render(reports.getFirst()));
                if (pngFile != null) HeatmapPng.write(reports.getFirst(), pngFile);
            }
        }
        return 0;
    }

    /** The run options' settings (the one place they become settings) with probe's positions and temperature sweep. */
    ProbeSettings settings() {
        boolean heatmap = htmlFile != null || pngFile != null || outDir != null;
        boolean all = switch (positions == null ? (heatmap ? "all" : "last") : positions) {
            case "last" -> false;
            case "all" -> true;
            default -> throw new InvalidInputException("--positions must be 'last' or 'all', not '" + positions + "'");
        };
        List<Double> sweep = temperatures != null ? temperatures
                : prompt == null && promptsFile == null ? SeedExperiment.TEMPERATURES : List.of();
        return run.sessionSettings(topK, answer.answerMode).withAllPositions(all).withTemperatures(sweep);
    }

    private List<PromptSpec> mainPrompts() throws IOException {
        if (promptsFile != null && prompt != null) throw new InvalidInputException("give either -p or --prompts, not both");
        if (promptsFile != null) return readPromptSet(promptsFile);
        if (prompt == null) {
            if (!expected.isEmpty()) return List.of(new PromptSpec(SeedExperiment.MAIN.prompt(), expected));
            return List.of(SeedExperiment.MAIN);
        }
        if (prompt.isEmpty()) throw new InvalidInputException("the prompt (-p) is empty");
        return List.of(new PromptSpec(prompt, expected));
    }

    /** JSONL prompt set; see {@link PromptSets#readJsonl}. */
    static List<PromptSpec> readPromptSet(Path file) throws IOException {
        return PromptSets.readJsonl(file);
    }

    private static String uniqueName(String name, Set<String> used) {
        String candidate = name;
        for (int i = 2; !used.add(candidate); i++) candidate = name + "-" + i;
        return candidate;
    }
}
