package dev.gguflens.gguf;

import java.util.List;
import java.util.OptionalInt;

/**
 * The tokenizer vocabulary stored in a GGUF (tokenizer.ggml.*): token strings by id, token types
 * (1 = normal when the file has no type list) and the special token ids.
 */
public final class Vocabulary {
    /** llama_token_type NORMAL, used when the file lists no token types. */
    public static final int TYPE_NORMAL = 1;

    private final String model;
    private final List<String> tokens;
    private final int[] tokenTypes;
    private final OptionalInt bos, eos, unknown, padding;

    private Vocabulary(String model, List<String> tokens, int[] tokenTypes, OptionalInt bos, OptionalInt eos,
                       OptionalInt unknown, OptionalInt padding) {
        this.model = model;
        this.tokens = tokens;
        this.tokenTypes = tokenTypes;
        this.bos = bos;
        this.eos = eos;
        this.unknown = unknown;
        this.padding = padding;
    }

    static Vocabulary from(GgufFile file) {
        List<String> tokens = file.optionalArray("tokenizer.ggml.tokens", GgufValueType.STRING)
                .orElseThrow(() -> new GgufException(file.path(), "metadata key 'tokenizer.ggml.tokens' is missing (no vocabulary)"))
                .strings();
        int[] types = null;
        var typeArray = file.optionalArray("tokenizer.ggml.token_type", GgufValueType.INT32, GgufValueType.UINT32,
                GgufValueType.INT8, GgufValueType.UINT8, GgufValueType.INT16, GgufValueType.UINT16);
        if (typeArray.isPresent()) {
            long[] raw = typeArray.get().longs();
            if (raw.length != tokens.size()) {
                throw new GgufException(file.path(), "tokenizer.ggml.token_type has " + raw.length + " entries but there are "
                        + tokens.size() + " tokens");
            }
            types = new int[raw.length];
            for (int i = 0; i < raw.length; i++) types[i] = (int) raw[i];
        }
        String model = file.get("tokenizer.ggml.model").map(v -> v.type() == GgufValueType.STRING ? v.asString() : null).orElse(null);
        return new Vocabulary(model, tokens, types,
                tokenId(file, "tokenizer.ggml.bos_token_id", tokens.size()),
                tokenId(file, "tokenizer.ggml.eos_token_id", tokens.size()),
                tokenId(file, "tokenizer.ggml.unknown_token_id", tokens.size()),
                tokenId(file, "tokenizer.ggml.padding_token_id", tokens.size()));
    }

    private static OptionalInt tokenId(GgufFile file, String key, int size) {
        GgufValue v = file.get(key).orElse(null);
        if (v == null) return OptionalInt.empty();
        if (!v.type().isInteger()) throw new GgufException(file.path(), "metadata " + UntrustedText.quoted(key) + " has type " + v.type() + ", expected an integer");
        // Converters write -1 (UINT32 4294967295) or an id past the list for "none": treat that as absent, not as an error.
        long id = v.asLong();
        return id >= 0 && id < size ? OptionalInt.of((int) id) : OptionalInt.empty();
    }

    public int size() {
        return tokens.size();
    }

    /** The token string (SentencePiece pieces keep their '▁'). */
    public String token(int id) {
        checkId(id);
        return tokens.get(id);
    }

    /** tokenizer.ggml.token_type of {@code id}, or 1 (normal) when the file has none. */
    public int tokenType(int id) {
        checkId(id);
        return tokenTypes == null ? TYPE_NORMAL : tokenTypes[id];
    }

    public List<String> tokens() {
        return tokens;
    }

    public OptionalInt bosId() { return bos; }
    public OptionalInt eosId() { return eos; }
    public OptionalInt unknownId() { return unknown; }
    public OptionalInt paddingId() { return padding; }

    /** tokenizer.ggml.model ("llama", "gpt2", ...), or null when absent. */
    public String model() {
        return model;
    }

    private void checkId(int id) {
        if (id < 0 || id >= tokens.size()) throw new IndexOutOfBoundsException("token id " + id + " outside 0.." + (tokens.size() - 1));
    }
}
