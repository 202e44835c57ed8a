package dev.gguflens.cli;

import dev.gguflens.experiment.Attribute;
import dev.gguflens.experiment.AttributionReport;
import dev.gguflens.experiment.InvalidInputException;
import dev.gguflens.experiment.ModelSession;
import dev.gguflens.experiment.ProbeSettings;
import dev.gguflens.experiment.PromptSets;
import dev.gguflens.experiment.PromptSpec;
import dev.gguflens.report.AttributionHtml;
import dev.gguflens.report.OutputSet;
import dev.gguflens.report.Json;
import dev.gguflens.report.AttributionOutputs;
import dev.gguflens.report.AttributionSummary;
import dev.gguflens.report.AttributionSummaryText;
import dev.gguflens.report.AttributionText;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code gguf-lens attribute}: which blocks and heads write the answer's logit (direct logit attribution). */
@Command(name = "attribute", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
            "Splits the answer's final logit into what the embedding, each block's attention (and each of its heads) and",
            "each block's MLP wrote into the residual stream (direct logit attribution).",
            "Each part is projected through the final norm with its scale frozen at the final residual's value and onto",
            "the answer's output row; the parts then sum to llama.cpp's logit, which the tool checks and prints."},
        footer = {"", "Examples:",
            "  gguf-lens attribute -m stories260K.gguf -p 'Once upon a time, there was a little girl named' --expect Lily",
            "  gguf-lens attribute -m qwen3.gguf -p 'Question: What is the capital of Germany? Answer:' --expect Berlin --vs Paris",
            "  gguf-lens attribute -m qwen3.gguf --suite capitals --out results/",
            "", "Exit codes: 0 success, 1 runtime failure (bad file, llama.cpp error), 2 invalid usage."})
public final class AttributeCommand implements Callable<Integer> {

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = {"-m", "--model"}, paramLabel = "MODEL", required = true,
            description = "GGUF file, or a Hugging Face model hf://OWNER/REPO[:QUANT].")
    String model;

    @Option(names = {"-p", "--prompt"}, paramLabel = "PROMPT", description = "The prompt (or --prompts / --suite).")
    String prompt;

    @Option(names = "--expect", paramLabel = "TEXT",
            description = "With -p: the answer; its first token, as it would follow the prompt, is attributed (all its tokens with --answer-mode sequence).")
    String expected;

    @Option(names = "--prompts", paramLabel = "FILE.jsonl",
            description = {"Prompt set: one JSON object per line with \"prompt\" and \"expected\" (the first answer is attributed);",
                "prints the mean and spread of every part over the set."})
    Path promptsFile;

    @Option(names = "--suite", paramLabel = "NAME",
            description = "Built-in prompt set: capitals (16 'Question: What is the capital of X? Answer:' prompts).")
    String suite;

    @Option(names = "--vs", paramLabel = "TEXT", description = "Attribute the logit difference answer - this answer's first token.")
    String versus;

    @Option(names = "--position", paramLabel = "N", description = "Prompt position to attribute (0-based; default the last).")
    Integer position;

    @Option(names = "--top", defaultValue = "10", paramLabel = "N",
            description = "Parts and heads listed by |contribution| (default ${DEFAULT-VALUE}).")
    int top;

    @Mixin
    RunOptions run = new RunOptions();

    @Mixin
    AnswerModeOption answer = new AnswerModeOption();

    @Option(names = "--out", paramLabel = "DIR", description = "Write <model>-attribution.txt, .json, .csv and .html here.")
    Path outDir;

    @Option(names = "--json", paramLabel = "FILE.json", description = "Write the JSON here.")
    Path jsonFile;

    @Option(names = "--html", paramLabel = "FILE.html",
            description = "Write the self-contained HTML page (block x {attention, MLP} bars, block x head heatmap) here.")
    Path htmlFile;

    @Option(names = {"-q", "--quiet"}, description = "No table on stdout (files are still written) and no progress.")
    boolean quiet;

    @Override
    public Integer call() throws IOException {
        run.connectRpcServers();
        if (top < 1) throw new InvalidInputException("--top " + top + " must be at least 1");
        List<PromptSpec> set = promptSet();
        if (set != null) return runSet(set);
        if (prompt.isEmpty()) throw new InvalidInputException("the prompt (-p) is empty");
        if (expected == null) throw new InvalidInputException("--expect TEXT is needed with -p: the answer to attribute");
        if (outDir != null) OutputTargets.requireDirectory("--out", outDir);
        if (jsonFile != null) OutputTargets.requireFile("--json", jsonFile);
        if (htmlFile != null) OutputTargets.requireFile("--html", htmlFile);
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Path file = ModelFiles.resolve(List.of(model), err, quiet).getFirst();
        ProbeSettings settings = run.sessionSettings(1, answer.answerMode);
        try (ModelSession session = ModelFiles.open(file, settings, err, quiet)) {
            AttributionReport report = new Attribute(session).run(prompt, expected, versus, position);
            if (!quiet) {
                out.print(AttributionText.render(report, top));
                out.flush();
            }
            if (outDir != null) AttributionOutputs.write(outDir, report.model().name(), report, top);
            if (jsonFile != null) OutputSet.writeText(jsonFile, w -> Json.write(report, w));
            if (htmlFile != null) OutputSet.writeText(htmlFile, w -> AttributionHtml.write(report, w));
        }
        return 0;
    }

    /** The prompt set of --prompts or --suite, or null with -p; refuses what does not go with a set. */
    private List<PromptSpec> promptSet() throws IOException {
        int given = (prompt != null ? 1 : 0) + (promptsFile != null ? 1 : 0) + (suite != null ? 1 : 0);
        if (given != 1) throw new InvalidInputException("give exactly one of -p, --prompts and --suite");
        if (prompt != null) return null;
        if (expected != null) throw new InvalidInputException("--expect goes with -p; a prompt set names each prompt's answer");
        if (position != null) throw new InvalidInputException("--position goes with -p; a prompt set attributes each last position");
        if (htmlFile != null) throw new InvalidInputException("--html takes one prompt (-p); use --out DIR for a prompt set");
        List<PromptSpec> set = promptsFile != null ? PromptSets.readJsonl(promptsFile) : PromptSets.builtIn(suite);
        for (int i = 0; i < set.size(); i++) {
            if (set.get(i).expected().isEmpty()) {
                throw new InvalidInputException("prompt " + (i + 1) + " of the set has no \"expected\" answer to attribute");
            }
        }
        return set;
    }

    private int runSet(List<PromptSpec> set) throws IOException {
        if (outDir != null) OutputTargets.requireDirectory("--out", outDir);
        if (jsonFile != null) OutputTargets.requireFile("--json", jsonFile);
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Path file = ModelFiles.resolve(List.of(model), err, quiet).getFirst();
        ProbeSettings settings = run.sessionSettings(1, answer.answerMode);
        try (ModelSession session = ModelFiles.open(file, settings, err, quiet)) {
            Attribute attribute = new Attribute(session);
            List<AttributionReport> reports = new java.util.ArrayList<>();
            try (ProgressBar bar = ProgressBar.start("prompts", set.size(), ProgressBar.Unit.COUNT, err, quiet)) {
                for (PromptSpec p : set) {
                    reports.add(attribute.run(p.prompt(), p.expected().getFirst(), versus, null));
                    bar.step();
                }
            }
            AttributionSummary summary = AttributionSummary.of(reports);
            if (!quiet) {
                out.print(AttributionSummaryText.render(summary, top));
                out.flush();
            }
            if (outDir != null) AttributionOutputs.writeSummary(outDir, summary.model().name(), summary, reports, top);
            if (jsonFile != null) OutputSet.writeText(jsonFile, w -> Json.write(summary, w));
        }
        return 0;
    }
}
