package dev.gguflens.gguf;

import java.util.Arrays;
import java.util.Locale;
import java.util.Set;

/**
 * What the pinned llama.cpp (v0.5.0, de3ff81) needs of a model before it may see the file: the values that
 * would otherwise stop the whole JVM in a GGML_ASSERT or GGML_ABORT (src/llama-model.cpp load_hparams,
 * src/models/*.cpp graph builders, src/llama-vocab.cpp, ggml-cpu's binary ops and rope) rather than return
 * an error. The reader ({@link GgufFile#open}) has already checked the file's structure; this checks meaning.
 * Each failure is one {@link GgufException} naming the file, the field and its value. Tensor roles, types
 * and shapes are {@link TensorRoles}'s; the tokenizer is {@link TokenizerRules}'s.
 */
public final class ModelCompatibility {
    private ModelCompatibility() {}

    /** LLAMA_MAX_LAYERS (src/llama-hparams.h): load_hparams asserts 0 < block_count <= 512. */
    public static final int MAX_LAYERS = 512;
    /** LLAMA_MAX_EXPERTS (src/llama-hparams.h): load_hparams asserts expert_count <= 1024. */
    public static final int MAX_EXPERTS = 1024;
    /** llama_rope_scaling_type_from_string's names; any other string fails an assert. */
    static final Set<String> ROPE_SCALING_TYPES = Set.of("none", "linear", "yarn", "longrope");

    /**
     * Architectures whose graph asserts n_embd_head_v == n_embd_head_k == n_rot (src/models/*.cpp:
     * {@code GGML_ASSERT(n_embd_head == n_rot)}), listed from the pinned tree.
     */
    static final Set<String> HEAD_EQUALS_ROT = Set.of("apertus", "arcee", "arctic", "baichuan", "chameleon", "codeshell",
            "cogvlm", "cohere2moe", "dbrx", "deci", "deepseek", "dots1", "dream", "ernie4_5", "ernie4_5-moe", "exaone",
            "exaone-moe", "exaone4", "falcon", "granite", "granite_swa", "graniteswitch", "grok", "grovemoe", "hunyuan-moe",
            "hunyuan_vl", "hy_v3", "internlm2", "jais2", "llada", "llada-moe", "llama", "llama4", "maincoder", "mellum",
            "minimax-01", "minimax-m2", "mistral3", "nemotron", "olmo", "olmo2", "olmoe", "orion", "paddleocr",
            "pangu-embedded", "plamo", "pockettts", "qwen2", "qwen2moe", "qwen2vl", "qwen3", "qwen3moe", "qwen3vl",
            "qwen3vlmoe", "rnd1", "seed_oss", "smallthinker", "smollm3", "starcoder2", "talkie", "xverse");

    /** Architectures whose graph asserts n_embd_head_v == n_embd_head_k ({@code GGML_ASSERT(n_embd_head == hparams.n_embd_head_k())}). */
    static final Set<String> HEAD_K_EQUALS_V = Set.of("afmoe", "apertus", "arcee", "arctic", "baichuan", "bailingmoe2",
            "bert", "bitnet", "bloom", "chameleon", "chatglm", "codeshell", "cogvlm", "cohere2", "cohere2moe", "command-r",
            "dbrx", "deci", "deepseek", "dflash", "dots1", "dream", "eagle3", "ernie4_5", "ernie4_5-moe", "eurobert",
            "exaone", "falcon", "glm4", "glm4moe", "gpt2", "gptneox", "granite", "granite_swa", "granitehybrid",
            "graniteswitch", "grok", "grovemoe", "hunyuan-moe", "hunyuan_vl", "hy_v3", "internlm2", "jais", "jais2",
            "laguna", "llada", "llada-moe", "llama", "llama4", "maincoder", "mellum", "minimax-01", "minimax-m2",
            "minimax-m3", "mistral3", "modern-bert", "mpt", "muse-glimmer", "nanbeige", "nemotron", "nemotron_h",
            "neo-bert", "olmo", "olmo2", "olmoe", "openelm", "orion", "paddleocr", "pangu-embedded", "phi2", "phi3",
            "plamo", "pockettts", "qwen", "qwen2", "qwen2moe", "qwen2vl", "qwen3", "qwen35", "qwen35moe", "qwen3moe",
            "qwen3vl", "qwen3vlmoe", "refact", "rnd1", "seed_oss", "smallthinker", "smollm3", "spark2_5", "stablelm",
            "starcoder", "starcoder2", "t5", "xverse");

    /** Checks everything a load for inference (probe, compare, attribute, trace) depends on. */
    public static void checkForInference(GgufFile file) {
        Hyperparameters hp = checkHyperparameters(file);
        TokenizerRules.check(file, hp.architecture());
        TensorRoles.check(file, hp);
    }

    /** Checks that ggml's CPU backend can multiply by {@code matrix} (bench hands one weight to ggml_mul_mat). */
    public static void checkMatrix(GgufFile file, GgufTensor matrix) {
        TensorRoles.checkMatrix(file, matrix);
    }

    /** Checks what a vocabulary-only load (the tokenizer alone) depends on. */
    public static void checkForTokenizer(GgufFile file) {
        TokenizerRules.check(file, file.architecture());
    }

    /**
     * Checks what llama.cpp's quantiser reads before it copies tensors: it runs load_hparams (with its asserts)
     * but neither the tokenizer nor a forward pass.
     */
    public static void checkForQuantization(GgufFile file) {
        checkHyperparameters(file);
    }

    /** The hyperparameters the checks derived; per-layer values as arrays of block_count entries. */
    record Hyperparameters(String architecture, int blocks, long embedding, long[] heads, long[] kvHeads,
                           long headK, long headV, long rot, long experts) {}

    static Hyperparameters checkHyperparameters(GgufFile file) {
        String arch = file.architecture();
        if (arch.isEmpty()) throw fail(file, "general.architecture", "''", "is empty");
        if (arch.equals("clip")) {
            throw fail(file, "general.architecture", UntrustedText.quoted(arch), "is a vision projector (mmproj), not a language model");
        }
        String p = arch + ".";
        long blocks = required(file, p + "block_count");
        if (blocks < 1 || blocks > MAX_LAYERS) {
            throw fail(file, p + "block_count", blocks, "is outside 1.." + MAX_LAYERS + " (llama.cpp's LLAMA_MAX_LAYERS)");
        }
        int n = (int) blocks;
        long nextn = optional(file, p + "nextn_predict_layers", 0);
        if (nextn < 0 || nextn > blocks) throw fail(file, p + "nextn_predict_layers", nextn, "exceeds block_count " + blocks);
        long context = required(file, p + "context_length");
        if (context < 1 || context > 0xFFFF_FFFFL) throw fail(file, p + "context_length", context, "is not a context length (1..2^32-1)");
        long embedding = required(file, p + "embedding_length");
        if (embedding < 1 || embedding > 0xFFFF_FFFFL) throw fail(file, p + "embedding_length", embedding, "is not a width (1..2^32-1)");

        long experts = optional(file, p + "expert_count", 0);
        long[] used = perLayer(file, p + "expert_used_count", n, 0);
        long groups = optional(file, p + "expert_group_count", 0);
        long groupsUsed = optional(file, p + "expert_group_used_count", 0);
        if ((arch.equals("hunyuan_vl") || arch.equals("hunyuan-dense")) && experts <= 1) {
            experts = 0; // load_hparams treats <= 1 expert as a dense model for these two
            Arrays.fill(used, 0);
        }
        long usedMax = Arrays.stream(used).max().orElse(0);
        if (experts < 0 || experts > MAX_EXPERTS) {
            throw fail(file, p + "expert_count", experts, "is outside 0.." + MAX_EXPERTS + " (llama.cpp's LLAMA_MAX_EXPERTS)");
        }
        if (usedMax < 0 || usedMax > experts) {
            throw fail(file, p + "expert_used_count", usedMax, "exceeds expert_count " + experts);
        }
        if (experts > 0) {
            if (usedMax == 0) throw fail(file, p + "expert_used_count", usedMax, "must be at least 1 with " + experts + " experts");
            if (groups < 0 || groups >= experts) throw fail(file, p + "expert_group_count", groups, "must be below expert_count " + experts);
            if (groups > 1) {
                if (experts % groups != 0) throw fail(file, p + "expert_group_count", groups, "does not divide expert_count " + experts);
                if (groupsUsed < 1 || groupsUsed >= groups) {
                    throw fail(file, p + "expert_group_used_count", groupsUsed, "must be in 1.." + (groups - 1) + " with " + groups + " groups");
                }
            }
        } else if (groups != 0) {
            throw fail(file, p + "expert_group_count", groups, "must be 0 without experts");
        }

        long[] heads = perLayer(file, p + "attention.head_count", n, 0);
        long[] kvHeads = file.metadata().containsKey(p + "attention.head_count_kv")
                ? perLayer(file, p + "attention.head_count_kv", n, 0) : heads.clone();
        for (int il = 0; il < n; il++) {
            if (heads[il] < 0 || heads[il] > 0xFFFF_FFFFL) throw fail(file, p + "attention.head_count", heads[il], "is not a head count");
            if (kvHeads[il] < 0 || kvHeads[il] > heads[il] && heads[il] > 0) {
                throw fail(file, p + "attention.head_count_kv", kvHeads[il], "exceeds head_count " + heads[il] + " (block " + il + ")");
            }
            // The attention product broadcasts K over the query heads: ggml_mul_mat asserts n_head % n_head_kv == 0.
            if (kvHeads[il] > 0 && heads[il] % kvHeads[il] != 0) {
                throw fail(file, p + "attention.head_count_kv", kvHeads[il], "does not divide head_count " + heads[il] + " (block " + il + ")");
            }
        }
        long headK = 0, headV = 0, rot = 0;
        if (heads[0] > 0) {
            headK = optional(file, p + "attention.key_length", embedding / heads[0]);
            headV = optional(file, p + "attention.value_length", embedding / heads[0]);
            if (headK < 1) throw fail(file, p + "attention.key_length", headK, "is not a head width (embedding_length " + embedding + " / head_count " + heads[0] + ")");
            if (headV < 1) throw fail(file, p + "attention.value_length", headV, "is not a head width (embedding_length " + embedding + " / head_count " + heads[0] + ")");
            rot = optional(file, p + "rope.dimension_count", headK);
            // ggml's rope asserts an even rotary width no wider than the head; a width of 0 hangs the forward pass.
            if (rot < 2 || rot > headK || rot % 2 != 0) {
                throw fail(file, p + "rope.dimension_count", rot, "must be even, at least 2 and at most the head width " + headK);
            }
            if (HEAD_K_EQUALS_V.contains(arch) && headK != headV) {
                throw fail(file, p + "attention.value_length", headV, "differs from key_length " + headK + ", which " + arch + " requires to match");
            }
            if (HEAD_EQUALS_ROT.contains(arch) && rot != headK) {
                throw fail(file, p + "rope.dimension_count", rot, "differs from the head width " + headK + ", which " + arch + " requires to match");
            }
        }
        GgufValue scaling = file.metadata().get(p + "rope.scaling.type");
        if (scaling != null) {
            if (scaling.type() != GgufValueType.STRING) throw fail(file, p + "rope.scaling.type", scaling.type(), "is not a string");
            if (!ROPE_SCALING_TYPES.contains(scaling.asString())) {
                throw fail(file, p + "rope.scaling.type", UntrustedText.quoted(scaling.asString()), "is not one of none, linear, yarn, longrope");
            }
        }
        for (String eps : new String[] {"attention.layer_norm_rms_epsilon", "attention.layer_norm_epsilon"}) {
            GgufValue v = file.metadata().get(p + eps);
            if (v != null && (v.type().isFloat() || v.type().isInteger()) && !(v.asDouble() >= 0 && Double.isFinite(v.asDouble()))) {
                throw fail(file, p + eps, v.asDouble(), "is not a finite non-negative epsilon");
            }
        }
        return new Hyperparameters(arch, n, embedding, heads, kvHeads, headK, headV, rot, experts);
    }

    // ---- metadata reading: any integer type, unsigned 64-bit values above 2^63 read as "huge" ----

    static long required(GgufFile file, String key) {
        GgufValue v = file.metadata().get(key);
        if (v == null) throw new GgufException(file.path(), "metadata key " + UntrustedText.quoted(key) + " is missing");
        return integer(file, key, v);
    }

    static long optional(GgufFile file, String key, long absent) {
        GgufValue v = file.metadata().get(key);
        return v == null ? absent : integer(file, key, v);
    }

    private static long integer(GgufFile file, String key, GgufValue v) {
        if (!v.type().isInteger()) throw fail(file, key, v.type(), "is not an integer");
        long l = v.asLong();
        // A UINT64 above 2^63 (or any negative INT) is out of every range below; Long.MAX_VALUE keeps it out of them.
        return v.type() == GgufValueType.UINT64 && l < 0 ? Long.MAX_VALUE : l;
    }

    /** A key that may be one integer for every block or an array with one per block (llama.cpp's get_key_or_arr). */
    static long[] perLayer(GgufFile file, String key, int blocks, long absent) {
        long[] out = new long[blocks];
        GgufValue v = file.metadata().get(key);
        if (v == null) {
            Arrays.fill(out, absent);
            return out;
        }
        if (v.type() == GgufValueType.ARRAY) {
            GgufArray a = v.asArray();
            if (!a.elementType().isInteger()) throw fail(file, key, "an array of " + a.elementType(), "is not an integer array");
            if (a.size() != blocks) throw fail(file, key, "an array of " + a.size(), "must have one entry per block (" + blocks + ")");
            long[] values = a.longs();
            for (int i = 0; i < blocks; i++) {
                out[i] = a.elementType() == GgufValueType.UINT64 && values[i] < 0 ? Long.MAX_VALUE : values[i];
            }
            return out;
        }
        Arrays.fill(out, integer(file, key, v));
        return out;
    }

    static GgufException fail(GgufFile file, String field, Object value, String problem) {
        // Callers quote untrusted strings themselves (UntrustedText.quoted); other strings are descriptions.
        String shown = value instanceof Double d ? String.format(Locale.ROOT, "%g", d) : String.valueOf(value);
        return new GgufException(file.path(), UntrustedText.escaped(field) + " = " + shown + " " + problem);
    }
}
