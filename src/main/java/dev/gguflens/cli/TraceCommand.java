package dev.gguflens.cli;

import dev.gguflens.experiment.CausalTrace;
import dev.gguflens.experiment.InvalidInputException;
import dev.gguflens.experiment.ModelSession;
import dev.gguflens.experiment.ProbeSettings;
import dev.gguflens.experiment.TraceReport;
import dev.gguflens.report.OutputSet;
import dev.gguflens.report.TraceCsv;
import dev.gguflens.report.TraceHtml;
import dev.gguflens.report.TraceJson;
import dev.gguflens.report.TraceOutputs;
import dev.gguflens.report.TraceText;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code gguf-lens trace}: causal tracing (activation patching) from a clean to a corrupted prompt. */
@Command(name = "trace", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
            "Causal tracing: runs the corrupted prompt again with one state replaced by the clean prompt's, for every",
            "layer and position, and reports the answer's probability at the last position and the normalised",
            "restoration (p - p_corrupt) / (p_clean - p_corrupt). Patched runs share the corrupted run's KV cache for",
            "the positions before the patch and go as parallel sequences into one llama.cpp batch."},
        footer = {"", "Example:",
            "  gguf-lens trace -m stories260K.gguf --clean 'Once upon a time, there was a little girl named' \\",
            "                  --corrupt 'Once upon a time, there was a little boy named' --expect Lily",
            "", "Exit codes: 0 success, 1 runtime failure (bad file, llama.cpp error), 2 invalid usage."})
public final class TraceCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = {"-m", "--model"}, required = true, paramLabel = "MODEL", description = "GGUF file or hf://OWNER/REPO[:QUANT].")
    String model;

    @Option(names = "--clean", required = true, paramLabel = "PROMPT", description = "The prompt whose answer is traced.")
    String clean;

    @Option(names = "--corrupt", required = true, paramLabel = "PROMPT",
            description = "The corrupted prompt; must tokenise to as many tokens as the clean one.")
    String corrupt;

    @Option(names = "--expect", required = true, paramLabel = "TEXT", description = "The clean prompt's answer (its first token is traced).")
    String expect;

    @Option(names = "--site", defaultValue = "resid", paramLabel = "resid|attn|mlp|heads",
            description = {"resid: the residual stream (rows 0..n_layer as in probe); attn: a block's attention output",
                "(kqv_out); mlp: a block's MLP output (ffn_out); heads: one head's slice of kqv_out at every position."})
    String site;

    @Mixin
    RunOptions run = new RunOptions();

    @Mixin
    AnswerModeOption answer = new AnswerModeOption();

    @Option(names = "--batch", defaultValue = "512", paramLabel = "N",
            description = {"Most tokens per llama.cpp batch of patched runs (default ${DEFAULT-VALUE}; at least the prompt length;",
                "at most N rounded up to 256 minus the prompt length, so the attention reads as many cache cells as for N tokens)."})
    int batch;

    @Option(names = "--out", paramLabel = "DIR", description = "Write trace.txt, trace.json, trace.csv and trace.html here.")
    Path outDir;

    @Option(names = "--html", paramLabel = "FILE.html",
            description = "Write the self-contained HTML heatmap (layer x position restoration) here.")
    Path htmlFile;

    @Option(names = "--json", paramLabel = "FILE.json", description = "Write the JSON here.")
    Path jsonFile;

    @Option(names = "--csv", paramLabel = "FILE.csv", description = "Write the CSV (one row per cell) here.")
    Path csvFile;

    @Option(names = "--timings", description = "Time the trace and llama.cpp's plain prompt processing at the same batch size.")
    boolean timings;

    @Option(names = {"-q", "--quiet"}, description = "No report on stdout (files are still written) and no progress.")
    boolean quiet;

    @Override
    public Integer call() throws IOException {
        CausalTrace.Site traceSite = site();
        if (clean.isEmpty() || corrupt.isEmpty()) throw new InvalidInputException("--clean and --corrupt must not be empty");
        if (batch < 1) throw new InvalidInputException("--batch " + batch + " must be at least 1");
        if (outDir != null) OutputTargets.requireDirectory("--out", outDir);
        if (htmlFile != null) OutputTargets.requireFile("--html", htmlFile);
        if (jsonFile != null) OutputTargets.requireFile("--json", jsonFile);
        if (csvFile != null) OutputTargets.requireFile("--csv", csvFile);
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Path file = ModelFiles.resolve(List.of(model), err, quiet).getFirst();
        ProbeSettings settings = run.sessionSettings(1, answer.answerMode);
        run.connectRpcServers();
        TraceReport report;
        try (ModelSession session = ModelFiles.open(file, settings, err, quiet)) {
            report = CausalTrace.run(session, clean, corrupt, expect,
                    new CausalTrace.Settings(traceSite, run.threadCount(), batch, timings));
        }
        if (!quiet) {
            StringWriter text = new StringWriter();
            TraceText.write(report, text);
            out.print(text);
            out.flush();
        }
        if (outDir != null) TraceOutputs.write(outDir, report);
        if (htmlFile != null) OutputSet.writeText(htmlFile, w -> TraceHtml.write(report, w));
        if (jsonFile != null) OutputSet.writeText(jsonFile, w -> TraceJson.write(report, w));
        if (csvFile != null) OutputSet.writeText(csvFile, w -> TraceCsv.write(report, w));
        return 0;
    }

    private CausalTrace.Site site() {
        for (CausalTrace.Site s : CausalTrace.Site.values()) {
            if (s.label().equals(site.toLowerCase(Locale.ROOT))) return s;
        }
        throw new InvalidInputException("--site must be resid, attn, mlp or heads, not '" + site + "'");
    }
}
