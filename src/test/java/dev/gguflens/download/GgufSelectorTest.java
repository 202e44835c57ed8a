package dev.gguflens.download;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class GgufSelectorTest {

    private static List<HubFile> files(String... paths) {
        return Stream.of(paths).map(p -> new HubFile(p, 1, null)).toList();
    }

    private static List<String> pick(List<HubFile> files, String quant) throws DownloadException {
        return GgufSelector.select(files, quant, "o/r").stream().map(HubFile::path).toList();
    }

    @Test
    void exactSuffixWinsOverSubstring() throws Exception {
        List<HubFile> f = files("m-Q4_K_M.gguf", "m-IQ4_K_M_big.gguf", "m-Q8_0.gguf", "README.md");
        assertEquals(List.of("m-Q4_K_M.gguf"), pick(f, "q4_k_m"));
        assertEquals(List.of("m-Q8_0.gguf"), pick(f, "Q8_0"));
        // Dotted style (TheBloke) counts as exact too.
        assertEquals(List.of("llama.Q5_K_S.gguf"), pick(files("llama.Q5_K_S.gguf", "llama.Q5_K_M.gguf"), "Q5_K_S"));
    }

    @Test
    void substringMatchWhenNoExactName() throws Exception {
        assertEquals(List.of("Qwen3-8B-UD-Q4_K_XL.gguf"), pick(files("Qwen3-8B-UD-Q4_K_XL.gguf", "Qwen3-8B-Q8_0.gguf"), "UD-Q4_K"));
        DownloadException e = assertThrows(DownloadException.class, () -> pick(files("m-Q4_K_M.gguf", "m-Q4_K_S.gguf"), "Q4_K"));
        assertEquals("quant Q4_K is ambiguous in o/r: it matches m-Q4_K_M.gguf, m-Q4_K_S.gguf; give the full quant name", e.getMessage());
    }

    @Test
    void defaultIsQ4KMThenTheOnlyModelElseAnErrorListingQuants() throws Exception {
        assertEquals(List.of("m-Q4_K_M.gguf"), pick(files("m-Q8_0.gguf", "m-Q4_K_M.gguf", "m-F16.gguf"), null));
        assertEquals(List.of("only-BF16.gguf"), pick(files("only-BF16.gguf", "mmproj-F16.gguf", "notes.txt"), null));
        DownloadException e = assertThrows(DownloadException.class, () -> pick(files("m-Q8_0.gguf", "m-F16.gguf", "mmproj-F16.gguf"), null));
        assertEquals("o/r holds 2 GGUF models; pick one with o/r:QUANT (available: F16, Q8_0)", e.getMessage());
        assertEquals("no .gguf model file in o/r on the hub",
                assertThrows(DownloadException.class, () -> pick(files("model.safetensors"), null)).getMessage());
    }

    @Test
    void splitFilesAreOneModelWithOrderedShards() throws Exception {
        List<HubFile> f = files("big-Q8_0-00002-of-00002.gguf", "big-Q8_0-00001-of-00002.gguf", "big-Q2_K.gguf");
        assertEquals(List.of("big-Q8_0-00001-of-00002.gguf", "big-Q8_0-00002-of-00002.gguf"), pick(f, "Q8_0"));
        DownloadException e = assertThrows(DownloadException.class,
                () -> pick(files("big-Q8_0-00001-of-00003.gguf", "big-Q8_0-00003-of-00003.gguf"), "Q8_0"));
        assertEquals("o/r lists an incomplete split GGUF: shard 2 of 3 of big-Q8_0 is missing", e.getMessage());
        assertEquals("Q8_0", GgufSelector.quantLabel("dir/big-Q8_0"));
    }
}
