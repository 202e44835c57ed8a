package dev.gguflens.report;

/**
 * Token text for the heatmaps, where there is no room for quotes: a leading or trailing space becomes '␣',
 * '\n' becomes '↵', '\t' becomes '→', other control characters become \xNN (format characters such as
 * zero-width spaces \\uNNNN), and the empty token '∅'. SentencePiece's '▁' is already visible and stays.
 */
final class VisibleText {
    private VisibleText() {}

    static final String SPACE_MARK = "\u2423";
    static final String NEWLINE_MARK = "\u21b5";
    static final String TAB_MARK = "\u2192";
    static final String EMPTY_MARK = "\u2205";

    /** Receives the visible form piece by piece; {@code mark} is true for pieces that stand for something invisible. */
    interface Sink {
        void piece(String text, boolean mark);
    }

    static String plain(String token) {
        StringBuilder sb = new StringBuilder(token.length() + 4);
        walk(token, (text, mark) -> sb.append(text));
        return sb.toString();
    }

    /** HTML-escaped visible form; marks are wrapped in {@code <span class="ws">} so CSS can dim them. */
    static String html(String token) {
        StringBuilder sb = new StringBuilder(token.length() + 16);
        walk(token, (text, mark) -> {
            if (mark) sb.append("<span class=\"ws\">").append(Html.escape(text)).append("</span>");
            else sb.append(Html.escape(text));
        });
        return sb.toString();
    }

    static void walk(String token, Sink sink) {
        if (token.isEmpty()) {
            sink.piece(EMPTY_MARK, true);
            return;
        }
        int leadingEnd = 0;
        while (leadingEnd < token.length() && token.charAt(leadingEnd) == ' ') leadingEnd++;
        int trailingStart = token.length();
        while (trailingStart > leadingEnd && token.charAt(trailingStart - 1) == ' ') trailingStart--;
        StringBuilder run = new StringBuilder();
        for (int i = 0; i < token.length(); ) {
            int cp = token.codePointAt(i);
            String mark = markFor(cp, i < leadingEnd || i >= trailingStart);
            if (mark == null) {
                run.appendCodePoint(cp);
            } else {
                if (!run.isEmpty()) {
                    sink.piece(run.toString(), false);
                    run.setLength(0);
                }
                sink.piece(mark, true);
            }
            i += Character.charCount(cp);
        }
        if (!run.isEmpty()) sink.piece(run.toString(), false);
    }

    private static String markFor(int cp, boolean edgeSpace) {
        if (cp == ' ') return edgeSpace ? SPACE_MARK : null;
        if (cp == '\n') return NEWLINE_MARK;
        if (cp == '\t') return TAB_MARK;
        if (Character.isISOControl(cp)) return String.format("\\x%02x", cp);
        if (Character.getType(cp) == Character.FORMAT) return String.format("\\u%04x", cp);
        return null;
    }
}
