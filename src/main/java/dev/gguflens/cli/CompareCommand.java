package dev.gguflens.cli;

import dev.gguflens.experiment.CompareReport;
import dev.gguflens.experiment.Comparison;
import dev.gguflens.experiment.InvalidInputException;
import dev.gguflens.experiment.ProbeSettings;
import dev.gguflens.experiment.PromptSets;
import dev.gguflens.experiment.PromptSpec;
import dev.gguflens.llama.ImportanceMatrix;
import dev.gguflens.report.CompareHtml;
import dev.gguflens.report.CompareOutputs;
import dev.gguflens.report.OutputSet;
import dev.gguflens.report.CompareTable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** {@code gguf-lens compare}: how the layer where answers emerge moves between a model and its quantisations. */
@Command(name = "compare", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
            "Shows how quantisation moves the layer where answers emerge, against a reference model.",
            "Runs the same prompts through several versions of one model (e.g. F16 and its quantisations) and",
            "compares every layer's logit lens with the reference model's: KL(variant || reference) in bits, top-1",
            "agreement, Jaccard of the top-k sets, cosine of the residual states, and how far each milestone moves",
            "(first layer where the answer ranks 1, ranks <= 5, KL to the final layer < 1 bit). Over a prompt suite:",
            "median and IQR of each milestone per variant, mean per-layer KL, top-1 flip rate per layer.",
            "The first -m is the reference unless --reference names another. The models must share architecture,",
            "n_layer, n_embd and vocabulary. One model is loaded at a time. Without a prompt option the built-in",
            "'capitals' suite runs."},
        footer = {"", "Examples:",
            "  gguf-lens compare -m Qwen3-8B-F16.gguf -m Qwen3-8B-Q4_K_M.gguf -m Qwen3-8B-Q2_K.gguf --out cmp/",
            "  gguf-lens compare -m Qwen3-8B-F16.gguf --quantize Q8_0,Q6_K,Q5_K_M,Q4_K_M,Q3_K_M,Q2_K --suite capitals",
            "  gguf-lens compare -m a.gguf -m b.gguf -p 'The capital of France is' --expect Paris",
            "", "Outputs with --out DIR: compare.txt (the table), compare.json, compare-layers.csv (variant, prompt, layer,",
            "metrics) and compare.svg (mean KL to the reference and median answer rank per layer, one curve per variant).",
            "", "Exit codes: 0 success, 1 runtime failure (bad file, llama.cpp error), 2 invalid usage."})
public final class CompareCommand implements java.util.concurrent.Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = {"-m", "--model"}, required = true, paramLabel = "MODEL",
            description = "GGUF model; repeat for each variant. With --quantize: the one base model.")
    List<String> modelArgs = new ArrayList<>();

    /** The -m values as local files (hub references downloaded). */
    private List<Path> models;

    @Option(names = "--quantize", split = ",", paramLabel = "TYPE[,TYPE...]",
            description = "Make these quantisations of the base model with llama.cpp's quantiser (cached by the base's content "
                    + "under ~/.cache/gguf-lens/variants or in --cache-dir, reused when present) and compare them with it, e.g. Q8_0,Q4_K_M,Q2_K.")
    List<String> quantize;

    @Option(names = "--imatrix", paramLabel = "FILE",
            description = "Importance matrix (llama-imatrix's GGUF output) guiding --quantize; needed for i-quants such as IQ2_XXS.")
    Path imatrix;

    @Option(names = "--cache-dir", paramLabel = "DIR", description = "Where --quantize keeps its variants, as <base>-<TYPE>.gguf "
            + "(default: ${GGUF_LENS_CACHE:-~/.cache/gguf-lens}/variants/<hash of the base>/).")
    Path cacheDir;

    @Option(names = "--reference", paramLabel = "MODEL",
            description = "The model the others are compared with: one of the -m paths, its file name, or a --quantize type (default: the first model).")
    String reference;

    @Option(names = {"-p", "--prompt"}, paramLabel = "PROMPT", description = "One prompt to compare on.")
    String prompt;

    @Option(names = "--expect", paramLabel = "TEXT", description = "Expected answer for -p (its first token is tracked; the whole answer with --answer-mode sequence).")
    String expected;

    @Option(names = "--prompts", paramLabel = "FILE.jsonl",
            description = "Prompt set: one JSON object per line with \"prompt\" and \"expected\" (as for probe).")
    Path promptsFile;

    @Option(names = "--suite", paramLabel = "NAME", description = "Built-in prompt suite: capitals (16 'Question: What is the capital of X? Answer:' prompts).")
    String suite;

    @Mixin
    RunOptions run = new RunOptions();

    @Mixin
    AnswerModeOption answer = new AnswerModeOption();

    @Option(names = "--top-k", defaultValue = "10", paramLabel = "N", description = "Top-k set size for the Jaccard overlap (default ${DEFAULT-VALUE}).")
    int topK;




    @Option(names = "--html", paramLabel = "FILE.html", description = "Write the comparison as one self-contained HTML page here.")
    Path htmlFile;

    @Option(names = "--out", paramLabel = "DIR",
            description = "Write compare.txt, compare.json, compare-layers.csv, compare.svg and compare.html here.")
    Path outDir;

    @Option(names = {"-q", "--quiet"}, description = "No table on stdout (files are still written) and no progress.")
    boolean quiet;

    @Override
    public Integer call() throws IOException {
        run.connectRpcServers();
        int nThreads = run.threadCount();
        ProbeSettings settings = settings();
        List<PromptSpec> prompts = prompts();
        models = ModelFiles.resolve(modelArgs, spec.commandLine().getErr(), quiet);
        if (imatrix != null && quantize == null) throw new InvalidInputException("--imatrix goes with --quantize");
        if (outDir != null) OutputTargets.requireDirectory("--out", outDir);
        if (htmlFile != null) OutputTargets.requireFile("--html", htmlFile);
        return run(settings, prompts, nThreads);
    }

    /** The run options' settings (the one place they become settings): last position, no temperature sweep. */
    ProbeSettings settings() {
        return run.sessionSettings(topK, answer.answerMode);
    }

    private int run(ProbeSettings settings, List<PromptSpec> prompts, int nThreads) throws IOException {
        PrintWriter err = spec.commandLine().getErr();
        List<Path> all = new ArrayList<>(models);
        List<String> labels = new ArrayList<>();
        for (Path m : models) labels.add(m.toString());
        if (quantize != null) {
            if (models.size() != 1) throw new InvalidInputException("--quantize takes exactly one -m (the base model), got " + models.size());
            List<String> types = QuantizedVariants.parseTypes(quantize);
            try (ProgressBar bar = ProgressBar.start("quantising", types.size(), ProgressBar.Unit.COUNT, err, quiet)) {
                ImportanceMatrix guide = imatrix == null ? null : ImportanceMatrix.load(imatrix);
                List<Path> variants = QuantizedVariants.ensure(models.getFirst(), types, cacheDir, nThreads, guide, (d, t) -> bar.update(d),
                        quiet ? null : line -> {
                            if (!bar.enabled()) {
                                err.println("gguf-lens: " + line);
                                err.flush();
                            }
                        });
                bar.finish();
                all.addAll(variants);
                labels.addAll(types);
            }
        } else if (models.size() < 2) {
            throw new InvalidInputException("compare needs at least two -m models, or one with --quantize TYPES");
        }
        int referenceIndex = referenceIndex(all, labels);

        CompareReport report;
        try (ProgressBar bar = ProgressBar.start("comparing", (long) all.size() * prompts.size(), ProgressBar.Unit.COUNT,
                err, quiet)) {
            report = Comparison.run(all, referenceIndex, prompts, settings, (d, t) -> bar.update(d));
            bar.finish();
        }
        String table = CompareTable.render(report);
        if (!quiet) {
            PrintWriter out = spec.commandLine().getOut();
            out.print(table);
            out.flush();
        }
        if (outDir != null) CompareOutputs.write(outDir, report);
        if (htmlFile != null) OutputSet.writeText(htmlFile, CompareHtml.render(report));
        return 0;
    }

    private List<PromptSpec> prompts() throws IOException {
        int given = (prompt != null ? 1 : 0) + (promptsFile != null ? 1 : 0) + (suite != null ? 1 : 0);
        if (given > 1) throw new InvalidInputException("give only one of -p, --prompts and --suite");
        if (expected != null && prompt == null) throw new InvalidInputException("--expect goes with -p");
        if (prompt != null) {
            if (prompt.isEmpty()) throw new InvalidInputException("the prompt (-p) is empty");
            return List.of(expected == null ? new PromptSpec(prompt) : new PromptSpec(prompt, expected));
        }
        if (promptsFile != null) return PromptSets.readJsonl(promptsFile);
        return PromptSets.builtIn(suite == null ? "capitals" : suite);
    }

    /** --reference as a path among the models, a file name, or a --quantize type; default the first model. */
    private int referenceIndex(List<Path> all, List<String> labels) {
        if (reference == null) return 0;
        for (int i = 0; i < all.size(); i++) {
            Path p = all.get(i);
            if (labels.get(i).equalsIgnoreCase(reference) || p.toString().equals(reference)
                    || p.getFileName().toString().equals(reference)
                    || p.getFileName().toString().replaceFirst("(?i)\\.gguf$", "").equals(reference)) {
                return i;
            }
        }
        throw new InvalidInputException("--reference '" + reference + "' is none of the models (" + String.join(", ", labels) + ")");
    }

}
