package dev.gguflens.experiment;

import java.util.function.UnaryOperator;

/**
 * A value the user gave cannot be used (empty prompt, answer that tokenises to nothing, prompt longer than the
 * context). Where the value is one named input, the exception carries that input's field name (snake_case, as
 * in {@link ProbeSettings}: {@code top_k}, {@code threads}, {@code context_size}, ...) apart from the value and
 * the problem, so that this layer need not know how an interface spells it: the CLI says {@code --top-k}, a
 * JSON request would say {@code top_k}. {@link #getMessage()} names the field itself.
 */
public final class InvalidInputException extends IllegalArgumentException {
    private final String field;
    private final String value;
    private final String problem;

    /** A problem that names no single input field (two options that exclude each other, a file's content). */
    public InvalidInputException(String message) {
        super(message);
        this.field = null;
        this.value = null;
        this.problem = message;
    }

    /**
     * @param field   the input's name, snake_case (e.g. {@code top_k})
     * @param value   what was given (text is quoted in the message)
     * @param problem what is wrong, written to follow "FIELD VALUE", e.g. "must be at least 1"
     */
    public InvalidInputException(String field, Object value, String problem) {
        super(render(field, value, problem));
        if (field == null || field.isBlank()) throw new IllegalArgumentException("invalid input: no field name");
        this.field = field;
        this.value = quoted(value);
        this.problem = problem;
    }

    /** The field the problem is about, or null when it names none. */
    public String field() {
        return field;
    }

    /** The message with the field spelled by {@code spelling} (field name to e.g. a CLI flag); unchanged without a field. */
    public String messageNaming(UnaryOperator<String> spelling) {
        if (field == null) return getMessage();
        String name = spelling.apply(field);
        return name + " " + value + " " + problem;
    }

    private static String render(String field, Object value, String problem) {
        return field + " " + quoted(value) + " " + problem;
    }

    private static String quoted(Object value) {
        return value instanceof CharSequence || value == null ? "'" + value + "'" : String.valueOf(value);
    }
}
