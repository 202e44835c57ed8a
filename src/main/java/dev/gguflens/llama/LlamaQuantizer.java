package dev.gguflens.llama;

import dev.gguflens.gguf.GgufFile;
import dev.gguflens.gguf.ModelCompatibility;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Quantises a GGUF model with llama.cpp's own quantiser (llama_model_quantize). */
public final class LlamaQuantizer {
    /** Type name -> llama_ftype value (include/llama.h). */
    private static final Map<String, Integer> FTYPES = new LinkedHashMap<>();

    static {
        FTYPES.put("F32", 0);
        FTYPES.put("F16", 1);
        FTYPES.put("BF16", 32);
        FTYPES.put("Q8_0", 7);
        FTYPES.put("Q6_K", 18);
        FTYPES.put("Q5_K_M", 17);
        FTYPES.put("Q5_K_S", 16);
        FTYPES.put("Q5_0", 8);
        FTYPES.put("Q5_1", 9);
        FTYPES.put("Q4_K_M", 15);
        FTYPES.put("Q4_K_S", 14);
        FTYPES.put("Q4_0", 2);
        FTYPES.put("Q4_1", 3);
        FTYPES.put("Q3_K_L", 13);
        FTYPES.put("Q3_K_M", 12);
        FTYPES.put("Q3_K_S", 11);
        FTYPES.put("Q2_K", 10);
        FTYPES.put("Q2_K_S", 21);
        FTYPES.put("IQ4_NL", 25);
        FTYPES.put("IQ4_XS", 30);
        // The i-quants below need an importance matrix (llama.cpp refuses without one).
        FTYPES.put("IQ3_M", 27);
        FTYPES.put("IQ3_S", 26);
        FTYPES.put("IQ3_XS", 22);
        FTYPES.put("IQ3_XXS", 23);
        FTYPES.put("IQ2_M", 29);
        FTYPES.put("IQ2_S", 28);
        FTYPES.put("IQ2_XS", 20);
        FTYPES.put("IQ2_XXS", 19);
        FTYPES.put("IQ1_M", 31);
        FTYPES.put("IQ1_S", 24);
        FTYPES.put("TQ1_0", 36);
        FTYPES.put("TQ2_0", 37);
    }

    private LlamaQuantizer() {}

    /** The accepted type names, e.g. Q8_0, Q6_K, Q4_K_M. */
    public static List<String> types() {
        return List.copyOf(FTYPES.keySet());
    }

    /**
     * Writes {@code out}, a copy of {@code in} with its weights quantised to {@code type}.
     *
     * @param threads quantisation threads, 0 = all cores
     */
    public static void quantize(Path in, Path out, String type, int threads) throws LlamaException {
        quantize(in, out, type, threads, null);
    }

    /**
     * As {@link #quantize(Path, Path, String, int)}, guided by an importance matrix (null for none); the
     * i-quants and the smallest K-quants need one.
     */
    public static void quantize(Path in, Path out, String type, int threads, ImportanceMatrix imatrix) throws LlamaException {
        Integer ftype = FTYPES.get(type.toUpperCase(Locale.ROOT));
        if (ftype == null) throw new IllegalArgumentException("unknown quantisation type '" + type + "'; valid types: " + String.join(", ", types()));
        dev.gguflens.gguf.InputFiles.requireRegularFile(in);
        if (threads < 0) throw new IllegalArgumentException("threads must be 0 (all cores) or positive, got " + threads);
        if (in.toAbsolutePath().normalize().equals(out.toAbsolutePath().normalize())) {
            throw new IllegalArgumentException("quantising " + in + " onto itself; choose another output file");
        }
        // Java validation first: the quantiser runs llama.cpp's load_hparams, whose asserts would end the JVM.
        try (GgufFile checked = GgufFile.open(in)) {
            ModelCompatibility.checkForQuantization(checked);
        }
        LlamaBackend.init();
        byte[][] names = null;
        float[][] data = null;
        if (imatrix != null) {
            names = imatrix.values().keySet().stream().map(n -> n.getBytes(StandardCharsets.UTF_8)).toArray(byte[][]::new);
            data = imatrix.values().values().toArray(float[][]::new);
        }
        Native.quantize(in.toAbsolutePath().toString().getBytes(StandardCharsets.UTF_8),
                out.toAbsolutePath().toString().getBytes(StandardCharsets.UTF_8), ftype, threads, names, data);
    }
}
