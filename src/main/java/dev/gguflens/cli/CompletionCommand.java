package dev.gguflens.cli;

import picocli.AutoComplete;
import picocli.CommandLine.Command;
import picocli.CommandLine.Spec;

/** {@code gguf-lens completion}: prints a bash/zsh completion script for every command and option. */
@Command(name = "completion", mixinStandardHelpOptions = true,
        description = {"Prints a bash (and zsh, via bashcompinit) completion script for gguf-lens.",
            "Load it now with:  source <(gguf-lens completion)",
            "or install it:     gguf-lens completion > /etc/bash_completion.d/gguf-lens"})
public final class CompletionCommand implements Runnable {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().getOut().print(AutoComplete.bash("gguf-lens", spec.root().commandLine()));
        spec.commandLine().getOut().flush();
    }
}
