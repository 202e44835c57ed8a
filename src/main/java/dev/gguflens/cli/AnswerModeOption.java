package dev.gguflens.cli;

import dev.gguflens.experiment.AnswerMode;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/** {@code --answer-mode first|sequence}, shared by probe, compare, attribute and trace. */
final class AnswerModeOption {
    @Option(names = "--answer-mode", defaultValue = "first", paramLabel = "first|sequence", converter = Converter.class,
            description = {"first: follow the answer's first token after the prompt (default). sequence: the whole answer,",
                "its tokens appended to the prompt (teacher forcing): probe and compare report per layer the lens log-probability",
                "of the whole answer and the milestones follow it; attribute sums each token's attribution at the position that",
                "predicts it; trace's p(answer) is the product over its tokens."})
    AnswerMode answerMode;

    /** first/sequence in any case. */
    static final class Converter implements CommandLine.ITypeConverter<AnswerMode> {
        @Override
        public AnswerMode convert(String value) {
            for (AnswerMode m : AnswerMode.values()) if (m.optionName().equalsIgnoreCase(value)) return m;
            throw new CommandLine.TypeConversionException("unknown --answer-mode '" + value + "' (choose first or sequence)");
        }
    }
}
