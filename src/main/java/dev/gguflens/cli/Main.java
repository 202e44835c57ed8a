package dev.gguflens.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point: the {@code gguf-lens} root command and its subcommands. */
@Command(
        name = "gguf-lens",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = "Layer-by-layer logit lens for quantised GGUF models, run through llama.cpp.",
        subcommands = {CommandLine.HelpCommand.class, InfoCommand.class, ProbeCommand.class, CompareCommand.class,
            QuantizeCommand.class, PullCommand.class, CompletionCommand.class, BenchCommand.class, AttributeCommand.class,
            TraceCommand.class, AblateCommand.class, MakeShapedModelCommand.class})
public final class Main implements Runnable {

    /** Exit code for bad usage (unknown option, invalid value). */
    public static final int EXIT_USAGE = 2;
    /** Exit code for a failure while running (bad file, llama.cpp error). */
    public static final int EXIT_RUNTIME = 1;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the CLI and returns the exit code; tests call this instead of {@link #main}. */
    public static int run(String... args) {
        return newCommandLine().execute(args);
    }

    public static CommandLine newCommandLine() {
        CommandLine cli = new CommandLine(new Main());
        // Descriptions are written as lines of up to ~110 characters; wrapping at picocli's default 80 breaks them mid-sentence.
        cli.setUsageHelpWidth(120);
        cli.setExecutionExceptionHandler(new OneLineErrors());
        cli.setParameterExceptionHandler(new OneLineErrors());
        return cli;
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** Reads the version Maven wrote into the jar manifest, falling back to "dev" in an IDE/test run. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"gguf-lens " + (v == null ? "dev" : v)};
        }
    }
}
