package dev.gguflens.gguf;

/**
 * The one place that makes text from files and users safe to print: metadata keys and strings, token pieces,
 * tensor and architecture names. Control characters (ESC included, so no terminal sequence survives), C1
 * controls and format characters (bidi overrides, zero-width joiners) become escapes; bytes that were not
 * UTF-8 were already decoded to U+FFFD by the reader; long text is cut with a note of its length, so a
 * 1,000,000-character tensor name costs a message ~200 characters, not 1.8 MB.
 */
public final class UntrustedText {
    private UntrustedText() {}

    /** Code points of a piece of untrusted text kept before it is cut (token pieces of real vocabularies are far shorter). */
    public static final int MAX_CODE_POINTS = 160;
    /** Characters of a whole one-line message kept before it is cut. */
    public static final int MAX_MESSAGE_CHARS = 2000;

    /** Python-repr-like quoting: 'text' with \n, \t, \r, \\, \' and other controls as \xNN or \\uNNNN; cut when long. */
    public static String quoted(String text) {
        return "'" + escape(text, true, MAX_CODE_POINTS) + "'";
    }

    /** As {@link #quoted} without the quotes (a quote stays a quote). */
    public static String escaped(String text) {
        return escape(text, false, MAX_CODE_POINTS);
    }

    /** As {@link #quoted}, never cut: for reports that must keep a token's full text (JSON keeps its own escaping). */
    public static String quotedInFull(String text) {
        return "'" + escape(text, true, Integer.MAX_VALUE) + "'";
    }

    /**
     * A message safe for one line of a terminal: line breaks become spaces (runs of whitespace around them
     * collapse), every other control or format character is escaped, and it is cut at {@link #MAX_MESSAGE_CHARS}.
     */
    public static String oneLine(String message) {
        if (message == null) return "";
        String joined = message.replaceAll("\\s*[\\r\\n]+\\s*", " ").strip();
        StringBuilder sb = new StringBuilder(Math.min(joined.length(), MAX_MESSAGE_CHARS) + 16);
        int i = 0;
        while (i < joined.length()) {
            if (sb.length() >= MAX_MESSAGE_CHARS) {
                sb.append("… (").append(joined.length()).append(" characters)");
                break;
            }
            int cp = joined.codePointAt(i);
            if (cp == '\t') sb.append(' ');
            else if (needsEscape(cp)) appendEscape(sb, cp);
            else sb.appendCodePoint(cp);
            i += Character.charCount(cp);
        }
        return sb.toString();
    }

    /** True for characters that must never reach a terminal raw: C0/C1 controls, DEL, format characters. */
    public static boolean needsEscape(int cp) {
        return Character.isISOControl(cp) || Character.getType(cp) == Character.FORMAT;
    }

    private static String escape(String text, boolean quoting, int maxCodePoints) {
        if (text == null) return "null";
        StringBuilder sb = new StringBuilder(Math.min(text.length(), 256) + 2);
        int count = 0;
        for (int i = 0; i < text.length(); ) {
            if (count == maxCodePoints) {
                sb.append("… (").append(text.codePointCount(0, text.length())).append(" characters)");
                break;
            }
            int cp = text.codePointAt(i);
            switch (cp) {
                case '\n' -> sb.append("\\n");
                case '\t' -> sb.append("\\t");
                case '\r' -> sb.append("\\r");
                case '\\' -> sb.append(quoting ? "\\\\" : "\\");
                case '\'' -> sb.append(quoting ? "\\'" : "'");
                default -> {
                    if (needsEscape(cp)) appendEscape(sb, cp);
                    else sb.appendCodePoint(cp);
                }
            }
            count++;
            i += Character.charCount(cp);
        }
        return sb.toString();
    }

    private static void appendEscape(StringBuilder sb, int cp) {
        sb.append(cp <= 0xff ? String.format("\\x%02x", cp) : String.format("\\u%04x", cp));
    }
}
