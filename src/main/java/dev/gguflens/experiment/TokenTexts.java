package dev.gguflens.experiment;

import dev.gguflens.llama.LlamaModel;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * Token ids to the text a person should see: the token's exact piece bytes decoded as UTF-8, with bytes
 * that are not (yet) valid UTF-8 - byte-fallback tokens, half a multi-byte character - shown as \xNN
 * instead of replacement characters. Memoised: reports ask for the same few thousand ids repeatedly.
 */
final class TokenTexts {
    private final LlamaModel model;
    private final Map<Integer, String> cache = new HashMap<>();

    TokenTexts(LlamaModel model) {
        this.model = model;
    }

    String text(int id) {
        return cache.computeIfAbsent(id, i -> decode(model.tokenPiece(i)));
    }

    static String decode(byte[] piece) {
        CharsetDecoder strict = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        try {
            return strict.decode(ByteBuffer.wrap(piece)).toString();
        } catch (CharacterCodingException e) {
            return decodeLeniently(piece);
        }
    }

    /** Decodes the valid UTF-8 runs and writes every other byte as \xNN. */
    private static String decodeLeniently(byte[] piece) {
        StringBuilder out = new StringBuilder();
        int i = 0;
        while (i < piece.length) {
            int b = piece[i] & 0xff;
            int len = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xe ? 3 : (b >> 3) == 0x1e ? 4 : 0;
            if (len > 0 && i + len <= piece.length) {
                CharsetDecoder strict = StandardCharsets.UTF_8.newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
                try {
                    CharBuffer chars = strict.decode(ByteBuffer.wrap(piece, i, len));
                    out.append(chars);
                    i += len;
                    continue;
                } catch (CharacterCodingException ignored) {
                    // fall through: escape this byte
                }
            }
            out.append(String.format("\\x%02x", b));
            i++;
        }
        return out.toString();
    }
}
