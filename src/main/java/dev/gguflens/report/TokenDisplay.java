package dev.gguflens.report;

/**
 * Renders token text for people: quoted, with whitespace and control characters made visible so that
 * ' Berlin', 'Berlin' and '\nBerlin' can be told apart.
 */
public final class TokenDisplay {
    private TokenDisplay() {}

    /** Python-repr-like quoting: 'text' with \n, \t, \r, \\, \' and other controls as \xNN or \\uNNNN. */
    public static String quoted(String text) {
        StringBuilder sb = new StringBuilder(text.length() + 2).append('\'');
        text.codePoints().forEach(cp -> {
            switch (cp) {
                case '\n' -> sb.append("\\n");
                case '\t' -> sb.append("\\t");
                case '\r' -> sb.append("\\r");
                case '\\' -> sb.append("\\\\");
                case '\'' -> sb.append("\\'");
                default -> {
                    if (Character.isISOControl(cp) || Character.getType(cp) == Character.FORMAT) {
                        sb.append(cp <= 0xff ? String.format("\\x%02x", cp) : String.format("\\u%04x", cp));
                    } else {
                        sb.appendCodePoint(cp);
                    }
                }
            }
        });
        return sb.append('\'').toString();
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
