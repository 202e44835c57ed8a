package dev.gguflens.gguf;

/**
 * Names of {@code general.file_type} values (llama.cpp's LLAMA_FTYPE_*): the quantisation a file was made
 * with, e.g. 15 = Q4_K_M. Values retired upstream have no name and print as their number.
 */
public final class FileType {
    private static final String[] NAMES = {
        "F32", "F16", "Q4_0", "Q4_1", null, null, null, "Q8_0", "Q5_0", "Q5_1", "Q2_K", "Q3_K_S", "Q3_K_M",
        "Q3_K_L", "Q4_K_S", "Q4_K_M", "Q5_K_S", "Q5_K_M", "Q6_K", "IQ2_XXS", "IQ2_XS", "Q2_K_S", "IQ3_XS",
        "IQ3_XXS", "IQ1_S", "IQ4_NL", "IQ3_S", "IQ3_M", "IQ2_S", "IQ2_M", "IQ4_XS", "IQ1_M", "BF16", null, null,
        null, "TQ1_0", "TQ2_0", "MXFP4_MOE", "NVFP4", "Q1_0", "Q2_0",
    };

    private FileType() {}

    /** The name for a {@code general.file_type} value, or "file type N" when it has none here. */
    public static String name(int fileType) {
        if (fileType >= 0 && fileType < NAMES.length && NAMES[fileType] != null) return NAMES[fileType];
        return "file type " + fileType;
    }
}
