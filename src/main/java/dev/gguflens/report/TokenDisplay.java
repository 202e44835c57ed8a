package dev.gguflens.report;

import dev.gguflens.gguf.UntrustedText;

/**
 * Renders token text for people: quoted, with whitespace and control characters made visible so that
 * ' Berlin', 'Berlin' and '\nBerlin' can be told apart.
 */
public final class TokenDisplay {
    private TokenDisplay() {}

    /** Python-repr-like quoting, escaped and cut when long; see {@link UntrustedText#quoted}, the one owner of escaping. */
    public static String quoted(String text) {
        return UntrustedText.quoted(text);
    }

    /** True when the token is only whitespace and/or punctuation (excluded from copy-collapse detection). */
    public static boolean isWhitespaceOrPunctuation(String text) {
        return text.codePoints().allMatch(cp -> Character.isWhitespace(cp) || cp == '\u2581'
                || isPunctuation(cp) || Character.isISOControl(cp));
    }

    private static boolean isPunctuation(int cp) {
        return switch (Character.getType(cp)) {
            case Character.CONNECTOR_PUNCTUATION, Character.DASH_PUNCTUATION, Character.START_PUNCTUATION,
                 Character.END_PUNCTUATION, Character.INITIAL_QUOTE_PUNCTUATION, Character.FINAL_QUOTE_PUNCTUATION,
                 Character.OTHER_PUNCTUATION, Character.MATH_SYMBOL, Character.CURRENCY_SYMBOL,
                 Character.MODIFIER_SYMBOL, Character.OTHER_SYMBOL -> true;
            default -> false;
        };
    }
}
