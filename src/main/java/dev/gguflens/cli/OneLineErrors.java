package dev.gguflens.cli;

import picocli.CommandLine;

import java.io.PrintWriter;

/**
 * Turns every failure into one line on stderr and a documented exit code: usage errors exit 2,
 * runtime failures exit 1. Stack traces appear only with GGUF_LENS_DEBUG=1.
 */
final class OneLineErrors implements CommandLine.IExecutionExceptionHandler, CommandLine.IParameterExceptionHandler {

    @Override
    public int handleParseException(CommandLine.ParameterException ex, String[] args) {
        PrintWriter err = ex.getCommandLine().getErr();
        err.println("gguf-lens: " + oneLine(ex.getMessage()));
        err.println("Try '" + ex.getCommandLine().getCommandSpec().qualifiedName() + " --help'.");
        err.flush();
        return Main.EXIT_USAGE;
    }

    @Override
    public int handleExecutionException(Exception ex, CommandLine cli, CommandLine.ParseResult parsed) {
        PrintWriter err = cli.getErr();
        if (ex instanceof dev.gguflens.experiment.InvalidInputException invalid) {
            err.println("gguf-lens: " + oneLine(invalid.messageNaming(field -> FlagNames.of(cli.getCommandName(), field))));
            err.flush();
            return Main.EXIT_USAGE;
        }
        if (ex instanceof UsageException) {
            err.println("gguf-lens: " + oneLine(ex.getMessage()));
            err.flush();
            return Main.EXIT_USAGE;
        }
        err.println("gguf-lens: " + oneLine(describe(ex)));
        if ("1".equals(System.getenv("GGUF_LENS_DEBUG"))) ex.printStackTrace(err);
        err.flush();
        return Main.EXIT_RUNTIME;
    }

    private static String describe(Throwable ex) {
        String msg = ex.getMessage();
        return msg == null || msg.isBlank() ? ex.getClass().getSimpleName() : msg;
    }

    static String oneLine(String s) {
        return dev.gguflens.gguf.UntrustedText.oneLine(s);
    }
}
