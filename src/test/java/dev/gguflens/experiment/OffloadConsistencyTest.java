package dev.gguflens.experiment;

import dev.gguflens.lens.LensKind;
import dev.gguflens.llama.BackendDevice;
import dev.gguflens.llama.LlamaBackend;
import dev.gguflens.llama.NativeLibrary;
import dev.gguflens.testmodels.RandomModels;
import dev.gguflens.testmodels.RandomModels.Arch;
import dev.gguflens.testmodels.RandomModels.Spec;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

import static dev.gguflens.testmodels.Fixtures.*;
import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The lens of a model whose layers run on another backend (llama.cpp's rpc-server on 127.0.0.1, a GPU) against
 * the same model on the CPU alone (-ngl 0), on random-weight F32 models: at every layer, KL(other || CPU) of the
 * lens distributions at the last position stays within {@link #BOUND_BITS}, and the other run's last layer
 * equals its own llama.cpp logits within the same bound. Both runs compute F32 products; only the kernels'
 * summation order differs (measured on the CPU through RPC: ~1e-9 bits).
 */
class OffloadConsistencyTest {
    static final double BOUND_BITS = 1e-4;
    static final String PROMPT = "Once upon a time, there was a little girl named";

    @TempDir static Path dir;

    @BeforeAll
    static void setUp() {
        requireNative();
    }

    static Probe.Run run(Path model, int gpuLayers) {
        ProbeSettings settings = new ProbeSettings(LensKind.NORM, 5, false, gpuLayers, 2, 256, List.of());
        try (ModelSession session = ModelSession.open(model, settings, null)) {
            return Probe.run(session, new PromptSpec(PROMPT, List.of()), List.of(), true, false);
        }
    }

    /** KL(p || q) in bits from natural-log probabilities. */
    static double klBits(float[] logP, float[] logQ) {
        double kl = 0;
        for (int i = 0; i < logP.length; i++) {
            double p = Math.exp(logP[i]);
            if (p > 0) kl += p * ((double) logP[i] - logQ[i]);
        }
        return Math.max(0, kl) / Math.log(2);
    }

    /** Checks the bound and prints one summary line (scripts/gpu-check.sh collects the OFFLOAD| lines). */
    static void assertSameLens(String what, Probe.Run other, Probe.Run cpu) {
        assertEquals(cpu.lastLogProbs().length, other.lastLogProbs().length, "layers");
        double worst = 0;
        int worstLayer = 0;
        for (int layer = 0; layer < cpu.lastLogProbs().length; layer++) {
            double kl = klBits(other.lastLogProbs()[layer], cpu.lastLogProbs()[layer]);
            if (kl > worst) {
                worst = kl;
                worstLayer = layer;
            }
        }
        double lastLayerVsLogits = other.report().consistency().klBits();
        ProbeReport.Backend backend = other.report().model().backend();
        System.out.printf(Locale.ROOT, "OFFLOAD|%s|%d/%d|%.3g|%d|%.3g|%s%n", what, backend.layersOffloaded(),
                backend.layersTotal(), worst, worstLayer, lastLayerVsLogits, backend.line());
        assertTrue(worst <= BOUND_BITS, what + ": layer " + worstLayer + " KL " + worst + " bits > " + BOUND_BITS);
        assertTrue(lastLayerVsLogits <= BOUND_BITS,
                what + ": last layer vs llama.cpp's logits KL " + lastLayerVsLogits + " bits > " + BOUND_BITS);
    }

    @Test
    void layersOnAnRpcServerGiveTheCpuLens() throws Exception {
        Path server = NativeLibrary.load().getParent().resolve("rpc-server");
        assumeTrue(Files.isExecutable(server), "no rpc-server in the native folder " + server.getParent());
        int port;
        try (ServerSocket free = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = free.getLocalPort();
        }
        String endpoint = "127.0.0.1:" + port;
        Process process = new ProcessBuilder(server.toString(), "-H", "127.0.0.1", "-p", String.valueOf(port), "-t", "1")
                .redirectErrorStream(true).redirectOutput(dir.resolve("rpc-server.log").toFile()).start();
        try {
            awaitPort(port, process);
            Path model = RandomModels.write(Spec.small(Arch.QWEN3, 5), llamaCppDir(), dir);
            Probe.Run cpu = run(model, 0);
            assertEquals(0, cpu.report().model().backend().layersOffloaded(), "-ngl 0 keeps every layer on the CPU");
            assertTrue(LlamaBackend.addRpcServer(endpoint) >= 1, "the rpc-server offers at least one device");
            Probe.Run rpc = run(model, -1);
            ProbeReport.Backend backend = rpc.report().model().backend();
            assertEquals(backend.layersTotal(), backend.layersOffloaded(), backend.line());
            assertEquals("RPC", backend.backends().getFirst(), backend.line());
            assertTrue(backend.devices().getFirst().contains(endpoint), backend.line());
            assertSameLens("rpc qwen3", rpc, cpu);
        } finally {
            LlamaBackend.removeRpcServer(endpoint);
            process.destroy();
            if (!process.waitFor(10, TimeUnit.SECONDS)) process.destroyForcibly();
        }
    }

    /**
     * scripts/gpu-check.sh --cpu-only sets this on a machine without a GPU: the GPU case then runs with the CPU
     * (-ngl 0) in the GPU's place, so the comparison, its bound and the script's summary are exercised there too.
     */
    static final boolean CPU_STAND_IN = Boolean.getBoolean("gguflens.test.cpuStandIn");

    /** Runs where a GPU backend found a device (scripts/gpu-check.sh); skipped elsewhere unless {@link #CPU_STAND_IN}. */
    @ParameterizedTest
    @EnumSource(Arch.class)
    void layersOnAGpuGiveTheCpuLens(Arch arch) {
        List<BackendDevice> gpus = LlamaBackend.devices().stream().filter(d -> !d.isRpc() && d.holdsLayers()).toList();
        assumeTrue(!gpus.isEmpty() || CPU_STAND_IN, "no GPU device");
        Path model = RandomModels.write(Spec.small(arch, 9), llamaCppDir(), dir);
        Probe.Run cpu = run(model, 0);
        if (gpus.isEmpty()) {
            Probe.Run standIn = run(model, 0);
            assertEquals(0, standIn.report().model().backend().layersOffloaded(), standIn.report().model().backend().line());
            assertSameLens("cpu " + arch.name, standIn, cpu);
            return;
        }
        Probe.Run gpu = run(model, 99);
        ProbeReport.Backend backend = gpu.report().model().backend();
        assertEquals(backend.layersTotal(), backend.layersOffloaded(), backend.line());
        assertTrue(backend.devices().getFirst().startsWith(gpus.getFirst().name()), backend.line());
        assertSameLens("gpu " + arch.name, gpu, cpu);
    }

    private static void awaitPort(int port, Process process) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) fail("rpc-server exited with " + process.exitValue() + "; see " + dir.resolve("rpc-server.log"));
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 500);
                return;
            } catch (IOException notYet) {
                Thread.sleep(100);
            }
        }
        fail("rpc-server did not listen on port " + port + " within 30 s");
    }
}
