package dev.gguflens.download;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ModelRefTest {
    @Test
    void parsesBothFormsAndUpperCasesTheQuant() {
        assertEquals(new ModelRef("Qwen", "Qwen3-8B-GGUF", "Q4_K_M"), ModelRef.parse("hf://Qwen/Qwen3-8B-GGUF:q4_k_m"));
        assertEquals(new ModelRef("Qwen", "Qwen3-8B-GGUF", "Q4_K_M"), ModelRef.parse(ModelResolver.DEFAULT_MODEL));
        ModelRef noQuant = ModelRef.parse("HF://bartowski/Meta-Llama-3.1-8B-Instruct-GGUF");
        assertNull(noQuant.quant());
        assertEquals("bartowski/Meta-Llama-3.1-8B-Instruct-GGUF", noQuant.repoId());
        assertEquals("bartowski--Meta-Llama-3.1-8B-Instruct-GGUF", noQuant.localDirName());
        assertEquals("hf://a/b:Q8_0", ModelRef.parse("a/b:q8_0").toString());
    }

    @Test
    void rejectsMalformedReferencesNamingTheValue() {
        for (String bad : new String[] {"justaname", "a/b/c", "hf://a", "a/b:", "../x/y", "a/..", "a/b c"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelRef.parse(bad), bad);
            assertTrue(e.getMessage().contains("'" + bad + "'"), e.getMessage());
        }
    }
}
