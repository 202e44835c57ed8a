package dev.gguflens.gguf;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The tokenizer metadata llama.cpp's vocabulary loader (src/llama-vocab.cpp, llama_vocab::impl::load) turns into
 * an assert or abort instead of an error: a tokenizer model the architecture cannot use, two entries with the
 * same text ({@code GGML_ASSERT(id_to_token.size() == token_to_id.size())}), a BOS/EOS/SEP that the tokenizer
 * adds but that is not in the vocabulary (asserted when a prompt is tokenised). Scores and token types must
 * have one entry per token.
 */
final class TokenizerRules {
    private TokenizerRules() {}

    /** tokenizer.ggml.model values llama.cpp knows; anything else it refuses with an error of its own. */
    static final Set<String> KNOWN_MODELS = Set.of("no_vocab", "none", "llama", "bert", "gpt2", "hybriddna", "whitespace",
            "t5", "rwkv", "test", "plamo2", "gemma4");
    /** "bert" (WordPiece) aborts on byte tokens when a decoder renders pieces; only encoders of the BERT family use it. */
    static final Set<String> WORDPIECE_ARCHITECTURES = Set.of("bert", "nomic-bert", "nomic-bert-moe", "jina-bert-v2",
            "jina-bert-v3", "neo-bert", "modern-bert", "eurobert");
    /** "rwkv" is the RWKV models' own tokenizer. */
    static final Set<String> RWKV_ARCHITECTURES = Set.of("rwkv6", "rwkv6qwen2", "rwkv7", "arwkv7");

    static final String MODEL = "tokenizer.ggml.model";
    static final String TOKENS = "tokenizer.ggml.tokens";
    static final String SCORES = "tokenizer.ggml.scores";
    static final String TOKEN_TYPES = "tokenizer.ggml.token_type";

    static void check(GgufFile file, String architecture) {
        GgufValue modelValue = file.metadata().get(MODEL);
        if (modelValue == null) throw new GgufException(file.path(), "metadata key '" + MODEL + "' is missing (no tokenizer)");
        if (modelValue.type() != GgufValueType.STRING) throw ModelCompatibility.fail(file, MODEL, modelValue.type(), "is not a string");
        String model = modelValue.asString();
        String shownModel = UntrustedText.quoted(model);
        if (!KNOWN_MODELS.contains(model)) {
            throw ModelCompatibility.fail(file, MODEL, shownModel, "is not a tokenizer llama.cpp knows (" + String.join(", ", KNOWN_MODELS.stream().sorted().toList()) + ")");
        }
        if (model.equals("none") || model.equals("no_vocab")) {
            throw ModelCompatibility.fail(file, MODEL, shownModel, "means the model has no tokenizer, so no prompt can be run");
        }
        String shownArch = UntrustedText.quoted(architecture);
        if (model.equals("bert") && !WORDPIECE_ARCHITECTURES.contains(architecture)) {
            throw ModelCompatibility.fail(file, MODEL, shownModel, "(WordPiece) does not fit architecture " + shownArch + "; it is for BERT-style encoders");
        }
        if (model.equals("rwkv") && !RWKV_ARCHITECTURES.contains(architecture)) {
            throw ModelCompatibility.fail(file, MODEL, shownModel, "does not fit architecture " + shownArch + "; it is RWKV's own tokenizer");
        }

        GgufValue tokenValue = file.metadata().get(TOKENS);
        if (tokenValue == null) throw new GgufException(file.path(), "metadata key '" + TOKENS + "' is missing (no vocabulary)");
        if (tokenValue.type() != GgufValueType.ARRAY || tokenValue.asArray().elementType() != GgufValueType.STRING) {
            throw ModelCompatibility.fail(file, TOKENS, tokenValue.type(), "is not an array of strings");
        }
        List<String> tokens = tokenValue.asArray().strings();
        int n = tokens.size();
        if (n == 0) throw ModelCompatibility.fail(file, TOKENS, "[]", "is empty");
        checkUnique(file, tokens);
        checkLength(file, SCORES, n, GgufValueType.FLOAT32, GgufValueType.INT32);
        checkLength(file, TOKEN_TYPES, n, GgufValueType.INT32);
        checkSpecial(file, model, n, "bos", "add_bos_token", switch (model) {
            case "llama", "plamo2" -> 1;
            case "bert" -> 101;
            case "gpt2", "hybriddna", "whitespace" -> 11;
            default -> -1;
        }, model.equals("llama") || model.equals("bert"));
        checkSpecial(file, model, n, "eos", "add_eos_token", switch (model) {
            case "llama", "plamo2" -> 2;
            case "gpt2", "hybriddna", "whitespace" -> 11;
            case "t5" -> 1;
            default -> -1;
        }, model.equals("t5"));
        if (model.equals("bert")) checkSpecial(file, model, n, "seperator", "add_sep_token", 102, true);
    }

    /**
     * llama.cpp keys its text-to-id map by the C string (cut at the first NUL) and renames an empty entry
     * "[EMPTY_&lt;id&gt;]"; two entries that map to one key trip the size assert.
     */
    private static void checkUnique(GgufFile file, List<String> tokens) {
        Map<String, Integer> seen = new HashMap<>(tokens.size() * 2);
        for (int id = 0; id < tokens.size(); id++) {
            String text = tokens.get(id);
            int nul = text.indexOf('\0');
            if (nul >= 0) text = text.substring(0, nul);
            if (text.isEmpty()) text = "[EMPTY_" + id + "]";
            Integer earlier = seen.putIfAbsent(text, id);
            if (earlier != null) {
                throw ModelCompatibility.fail(file, TOKENS + "[" + id + "]", UntrustedText.quoted(text),
                        "repeats token " + earlier + " (llama.cpp needs every token text once)");
            }
        }
    }

    private static void checkLength(GgufFile file, String key, int n, GgufValueType... types) {
        GgufValue v = file.metadata().get(key);
        if (v == null) return;
        if (v.type() != GgufValueType.ARRAY || !List.of(types).contains(v.asArray().elementType())) {
            throw ModelCompatibility.fail(file, key, v.type() == GgufValueType.ARRAY ? "an array of " + v.asArray().elementType() : v.type(),
                    "is not an array of " + List.of(types));
        }
        int size = v.asArray().size();
        if (size != n) throw ModelCompatibility.fail(file, key, "an array of " + size, "must have one entry per token (" + n + ")");
    }

    /**
     * A special token the tokenizer adds to every prompt must be in the vocabulary: llama.cpp falls back to its
     * default id for an out-of-range one, drops it when that is out of range too, then asserts while tokenising.
     * UINT32 4294967295 and -1 mean "none" (what converters write).
     */
    private static void checkSpecial(GgufFile file, String model, int n, String name, String addKeySuffix, int defaultId, boolean addsByDefault) {
        String key = "tokenizer.ggml." + name + "_token_id";
        GgufValue v = file.metadata().get(key);
        long id = defaultId;
        boolean stated = false;
        if (v != null) {
            if (!v.type().isInteger()) throw ModelCompatibility.fail(file, key, v.type(), "is not an integer");
            long raw = v.asLong();
            boolean none = raw == -1 || raw == 0xFFFF_FFFFL;
            if (!none && (raw < 0 || raw >= n)) {
                throw ModelCompatibility.fail(file, key, v.type() == GgufValueType.UINT64 ? Long.toUnsignedString(raw) : raw,
                        "is outside the vocabulary of " + n + " tokens");
            }
            if (!none) {
                id = raw;
                stated = true;
            }
        }
        if (!stated && id >= n) id = -1;
        GgufValue add = file.metadata().get("tokenizer.ggml." + addKeySuffix);
        boolean adds = add != null && add.type() == GgufValueType.BOOL ? add.asBool() : addsByDefault;
        if (adds && id < 0) {
            throw ModelCompatibility.fail(file, key, v == null ? "absent" : v.toString(), "but the " + UntrustedText.quoted(model)
                    + " tokenizer adds a " + name.toUpperCase(java.util.Locale.ROOT) + " token to every prompt and the vocabulary of " + n + " tokens has none");
        }
    }
}
