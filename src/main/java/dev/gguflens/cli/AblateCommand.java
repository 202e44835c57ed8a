package dev.gguflens.cli;

import dev.gguflens.experiment.Ablation;
import dev.gguflens.experiment.AblationReport;
import dev.gguflens.experiment.InvalidInputException;
import dev.gguflens.experiment.ModelSession;
import dev.gguflens.experiment.ProbeSettings;
import dev.gguflens.report.AblationText;
import dev.gguflens.report.Json;
import dev.gguflens.report.OutputSet;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code gguf-lens ablate}: the answer with and without some attention heads or MLP neurons. */
@Command(name = "ablate", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
            "Zero- or mean-ablates attention heads (their slice of kqv_out, before the output projection) or MLP",
            "neurons (columns of the activation entering the down projection) at every prompt position, and shows the",
            "answer's probability and rank and the final top-k with and without the ablation."},
        footer = {"", "Examples:",
            "  gguf-lens ablate -m model.gguf -p 'Question: What is the capital of Germany? Answer:' --expect Berlin --heads 27.3,27.5",
            "  gguf-lens ablate -m model.gguf -p PROMPT --expect TEXT --neurons 12:1033 --mean-over 'Another prompt' --mean-over 'A third'",
            "", "Exit codes: 0 success, 1 runtime failure (bad file, llama.cpp error), 2 invalid usage."})
public final class AblateCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = {"-m", "--model"}, required = true, paramLabel = "MODEL", description = "GGUF file or hf://OWNER/REPO[:QUANT].")
    String model;

    @Option(names = {"-p", "--prompt"}, required = true, paramLabel = "PROMPT", description = "The prompt.")
    String prompt;

    @Option(names = "--expect", required = true, paramLabel = "TEXT", description = "The answer whose first token is followed.")
    String expect;

    @Option(names = "--heads", split = ",", paramLabel = "BLOCK.HEAD", description = "Heads to ablate, e.g. 27.3,27.5.")
    List<String> heads = new ArrayList<>();

    @Option(names = "--neurons", split = ",", paramLabel = "BLOCK:NEURON", description = "MLP neurons to ablate, e.g. 12:1033.")
    List<String> neurons = new ArrayList<>();

    @Option(names = "--mean-over", paramLabel = "PROMPT",
            description = "Mean-ablate: replace with the mean over every position of these prompts (repeatable); default: zero.")
    List<String> meanOver = new ArrayList<>();

    @Option(names = "--top-k", defaultValue = "5", paramLabel = "N", description = "Top tokens shown (default ${DEFAULT-VALUE}).")
    int topK;

    @Mixin
    RunOptions run = new RunOptions();

    @Option(names = "--json", paramLabel = "FILE.json", description = "Write the result as JSON here.")
    Path jsonFile;

    @Option(names = {"-q", "--quiet"}, description = "No report on stdout and no progress.")
    boolean quiet;

    @Override
    public Integer call() throws IOException {
        if (heads.isEmpty() == neurons.isEmpty()) throw new InvalidInputException("give either --heads or --neurons");
        if (topK < 1) throw new InvalidInputException("top_k", topK, "must be at least 1");
        if (prompt.isEmpty()) throw new InvalidInputException("prompt", prompt, "is empty");
        Ablation.Kind kind = heads.isEmpty() ? Ablation.Kind.NEURONS : Ablation.Kind.HEADS;
        List<Ablation.Target> targets = (heads.isEmpty() ? neurons : heads).stream().map(t -> Ablation.Target.parse(kind, t)).toList();
        if (jsonFile != null) OutputSet.requireWritableDirectory(OutputSet.parentOf(jsonFile));
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Path file = ModelFiles.resolve(List.of(model), err, quiet).getFirst();
        ProbeSettings settings = run.sessionSettings(topK);
        run.connectRpcServers();
        AblationReport report;
        try (ModelSession session = ModelFiles.open(file, settings, err, quiet)) {
            report = Ablation.run(session, prompt, expect, kind, targets, meanOver, topK);
        }
        if (!quiet) {
            StringWriter text = new StringWriter();
            AblationText.write(report, text);
            out.print(text);
            out.flush();
        }
        if (jsonFile != null) OutputSet.writeText(jsonFile, w -> Json.write(report, w));
        return 0;
    }
}
