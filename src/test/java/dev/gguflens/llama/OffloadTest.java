package dev.gguflens.llama;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** How -ngl maps to layers placed on devices, the warning, and the native folder's listing (no native code). */
class OffloadTest {
    static final BackendDevice GPU = new BackendDevice(1, "CUDA", "gpu", "CUDA0", "NVIDIA H200", 150_000_000_000L);
    static final BackendDevice GPU1 = new BackendDevice(2, "CUDA", "gpu", "CUDA1", "NVIDIA H200", 150_000_000_000L);
    static final BackendDevice RPC = new BackendDevice(3, "RPC", "gpu", "RPC0", "127.0.0.1:50052", 1L << 30);

    @Test
    void splitModeNoneKeepsOnlyTheMainDevice() {
        List<BackendDevice> devices = List.of(RPC, GPU, GPU1);
        Offload none = Offload.of(devices, -1, 8, new GpuPlacement(2, SplitMode.NONE));
        assertEquals(List.of(GPU1), none.devices(), "llama.cpp keeps devices[main_gpu] alone");
        assertEquals(9, none.offloaded());
        assertEquals(List.of(RPC), Offload.of(devices, -1, 8, new GpuPlacement(null, SplitMode.NONE)).devices(), "main GPU defaults to 0");
        assertEquals(devices, Offload.of(devices, -1, 8, new GpuPlacement(2, SplitMode.LAYER)).devices(), "layer ignores the main GPU");
        assertNull(none.warning());
    }

    @Test
    void placementIsCheckedAgainstTheDevices() {
        assertNull(new GpuPlacement(1, null).problem(List.of(GPU, GPU1)));
        GpuPlacement.Problem outside = new GpuPlacement(2, SplitMode.NONE).problem(List.of(GPU, GPU1));
        assertEquals("main_gpu", outside.field());
        assertEquals("main_gpu 2 is not one of the 2 device(s) that can hold layers (0: CUDA0 (NVIDIA H200), 1: CUDA1 (NVIDIA H200)); use 0..1",
                outside.toString());
        GpuPlacement.Problem row = new GpuPlacement(null, SplitMode.ROW).problem(List.of(RPC));
        assertEquals("split_mode", row.field());
        assertTrue(row.text().contains("RPC0 (127.0.0.1:50052) (RPC backend)"), row.text());
        assertNotNull(new GpuPlacement(null, SplitMode.ROW).problem(List.of(GPU)), "the pinned CUDA backend has no split buffers");
        assertNull(new GpuPlacement(null, SplitMode.ROW).problem(List.of(new BackendDevice(4, "SYCL", "gpu", "SYCL0", "Arc", 1))));
        assertNull(new GpuPlacement(5, SplitMode.ROW).problem(List.of()), "no device: a warning, not an error");
        assertThrows(IllegalArgumentException.class, () -> new GpuPlacement(-1, null));
    }

    @Test
    void placementWithoutADeviceWarnsLikeNgl() {
        assertNull(Offload.of(List.of(), -1, 5, GpuPlacement.DEFAULT).warning());
        String w = Offload.of(List.of(), -1, 5, new GpuPlacement(1, SplitMode.NONE)).warning();
        assertEquals("--split-mode none --main-gpu 1 has no effect: no GPU or RPC device holds layers (-ngl 0, a CPU-only build,"
                + " or no driver/device)", w);
        String both = Offload.of(List.of(), 99, 5, new GpuPlacement(null, SplitMode.ROW)).warning();
        assertTrue(both.startsWith("-ngl 99 asks for layers on a GPU") && both.contains("; --split-mode row has no effect"), both);
    }

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
