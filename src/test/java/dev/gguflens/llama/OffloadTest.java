package dev.gguflens.llama;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** How -ngl maps to layers placed on devices, the warning, and the native folder's listing (no native code). */
class OffloadTest {
    static final BackendDevice GPU = new BackendDevice(1, "CUDA", "gpu", "CUDA0", "NVIDIA H200", 150_000_000_000L);

    @Test
    void layersFollowLlamaCppsCountWithTheOutputLayerIncluded() {
        assertEquals(33, Offload.of(List.of(GPU), -1, 32).offloaded(), "-1 = all n_layer + 1");
        assertEquals(33, Offload.of(List.of(GPU), 99, 32).offloaded(), "more than there are = all");
        assertEquals(10, Offload.of(List.of(GPU), 10, 32).offloaded());
        assertEquals(33, Offload.of(List.of(GPU), 10, 32).total());
        assertEquals(0, Offload.of(List.of(), 99, 32).offloaded(), "no device: nothing offloaded");
    }

    @Test
    void onlyAnExplicitRequestWithoutADeviceWarns() {
        assertNull(Offload.of(List.of(), -1, 5).warning(), "the default asks for nothing in particular");
        assertNull(Offload.of(List.of(), 0, 5).warning());
        assertNull(Offload.of(List.of(GPU), 99, 5).warning());
        String w = Offload.of(List.of(), 99, 5).warning();
        assertNotNull(w);
        assertTrue(w.startsWith("-ngl 99 asks for layers on a GPU") && w.contains("all 6 layers run on the CPU"), w);
    }

    @Test
    void deviceLinesParseAndLabel() {
        BackendDevice d = BackendDevice.parse(2, "RPC\tgpu\tRPC0\t127.0.0.1:50052\t1024");
        assertTrue(d.isRpc() && d.holdsLayers());
        assertEquals("RPC0 (127.0.0.1:50052)", d.label());
        assertFalse(BackendDevice.parse(0, "CPU\tcpu\tCPU\tAMD EPYC\t0").holdsLayers());
        assertThrows(LlamaException.class, () -> BackendDevice.parse(0, "CPU\tcpu"));
    }

    @Test
    void folderListingIsCheckedLineByLine() {
        String sha = "a".repeat(64);
        var files = NativeLibrary.FolderFile.parse(sha + " 12 libgguflens.so\n" + sha + " 3 libggml-cpu.so\n");
        assertEquals(List.of("libgguflens.so", "libggml-cpu.so"), files.stream().map(NativeLibrary.FolderFile::name).toList());
        assertEquals(12, files.getFirst().size());
        assertThrows(IllegalArgumentException.class, () -> NativeLibrary.FolderFile.parse(sha + " 12 ../evil.so"));
        assertThrows(IllegalArgumentException.class, () -> NativeLibrary.FolderFile.parse("xyz 12 lib.so"));
    }
}
