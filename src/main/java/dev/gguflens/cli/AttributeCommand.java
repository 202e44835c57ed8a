package dev.gguflens.cli;

import dev.gguflens.experiment.Attribute;
import dev.gguflens.experiment.InvalidInputException;
import dev.gguflens.experiment.ModelSession;
import dev.gguflens.experiment.ProbeSettings;
import dev.gguflens.report.AttributionHtml;
import dev.gguflens.report.OutputSet;
import dev.gguflens.report.AttributionJson;
import dev.gguflens.report.AttributionOutputs;
import dev.gguflens.report.AttributionReport;
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
            "", "Exit codes: 0 success, 1 runtime failure (bad file, llama.cpp error), 2 invalid usage."})
public final class AttributeCommand implements Callable<Integer> {

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = {"-m", "--model"}, paramLabel = "MODEL", required = true,
            description = "GGUF file, or a Hugging Face model hf://OWNER/REPO[:QUANT].")
    String model;

    @Option(names = {"-p", "--prompt"}, paramLabel = "PROMPT", required = true, description = "The prompt.")
    String prompt;

    @Option(names = "--expect", paramLabel = "TEXT", required = true,
            description = "The answer: its first token, as it would follow the prompt, is attributed.")
    String expected;

    @Option(names = "--vs", paramLabel = "TEXT", description = "Attribute the logit difference answer - this answer's first token.")
    String versus;

    @Option(names = "--position", paramLabel = "N", description = "Prompt position to attribute (0-based; default the last).")
    Integer position;

    @Option(names = "--top", defaultValue = "10", paramLabel = "N",
            description = "Parts and heads listed by |contribution| (default ${DEFAULT-VALUE}).")
    int top;

    @Mixin
    RunOptions run = new RunOptions();

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
        if (top < 1) throw new InvalidInputException("--top " + top + " must be at least 1");
        if (prompt.isEmpty()) throw new InvalidInputException("the prompt (-p) is empty");
        if (outDir != null) OutputTargets.requireDirectory("--out", outDir);
        if (jsonFile != null) OutputTargets.requireFile("--json", jsonFile);
        if (htmlFile != null) OutputTargets.requireFile("--html", htmlFile);
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Path file = ModelFiles.resolve(List.of(model), err, quiet).getFirst();
        ProbeSettings settings = new ProbeSettings(run.lens, 1, false, run.gpuLayers, run.threadCount(), run.contextSize(), List.of(), run.forceContext);
        try (ModelSession session = ModelFiles.open(file, settings, err, quiet)) {
            AttributionReport report = new Attribute(session).run(prompt, expected, versus, position);
            if (!quiet) {
                out.print(AttributionText.render(report, top));
                out.flush();
            }
            if (outDir != null) AttributionOutputs.write(outDir, report.model().name(), report, top);
            if (jsonFile != null) OutputSet.writeText(jsonFile, w -> AttributionJson.write(report, w));
            if (htmlFile != null) OutputSet.writeText(htmlFile, w -> AttributionHtml.write(report, w));
        }
        return 0;
    }
}
