package dev.gguflens.download;

import dev.gguflens.testmodels.Fixtures;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

class HubConfigTest {
    @Test
    void environmentOverridesDefaults() {
        HubConfig c = HubConfig.fromEnvironment(Map.of(
                "GGUF_LENS_HF_ENDPOINT", "http://127.0.0.1:8080/mirror/",
                "HF_TOKEN", "hf_abc",
                "GGUF_LENS_MODELS", "/data/models"));
        assertEquals(URI.create("http://127.0.0.1:8080/mirror"), c.endpoint(), "trailing '/' dropped so URLs have no '//'");
        assertEquals("hf_abc", c.token());
        assertEquals(Path.of("/data/models"), c.modelsDir());
    }

    @Test
    void defaultsWithoutEnvironment() {
        HubConfig c = HubConfig.fromEnvironment(Map.of("HF_TOKEN", "  "));
        assertEquals(URI.create("https://huggingface.co"), c.endpoint());
        assertNull(c.token(), "a blank token is no token");
        // Tests run from target/classes of this checkout, so the default is the checkout's models/ folder.
        assertEquals(Fixtures.projectDir().resolve("models"), c.modelsDir().toAbsolutePath().normalize());
    }

    @Test
    void badEndpointIsNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> HubConfig.fromEnvironment(Map.of("GGUF_LENS_HF_ENDPOINT", "ftp://x")));
        assertEquals("$GGUF_LENS_HF_ENDPOINT is not an http(s) URL: 'ftp://x' (scheme must be http or https)", e.getMessage());
    }
}
