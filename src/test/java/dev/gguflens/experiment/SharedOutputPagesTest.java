package dev.gguflens.experiment;

import dev.gguflens.gguf.GgufTensor;
import dev.gguflens.lens.HeadLookup;
import dev.gguflens.lens.LayerStates;
import dev.gguflens.lens.LensKind;
import dev.gguflens.lens.LensRequest;
import dev.gguflens.lens.LensResult;
import dev.gguflens.lens.LogitLens;
import dev.gguflens.lens.TrackedToken;
import dev.gguflens.llama.LlamaModel;
import dev.gguflens.testmodels.RandomModels;
import dev.gguflens.testmodels.RandomModels.Arch;
import dev.gguflens.testmodels.RandomModels.Spec;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;

import static dev.gguflens.testmodels.Fixtures.llamaCppDir;
import static dev.gguflens.testmodels.Fixtures.requireNative;
import static dev.gguflens.testmodels.Fixtures.requireOrSkip;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * On the CPU the lens reads the output weight through llama.cpp's mapping of the file, not the session's own: after
 * a probe, the session's mapping has (almost) none of the output weight's pages mapped — /proc/self/pagemap's
 * present bit, per page — so they are not counted twice in the resident set; and the lens's results are exactly
 * those of the head read from the file's mapping. The model: random qwen3 with Qwen2's 151,936-token vocabulary,
 * whose F32 output weight is 38.9 MB (9,497 pages).
 */
class SharedOutputPagesTest {
    private static final long PAGE = 4096;

    @BeforeAll
    static void setUp() {
        requireNative();
    }

    @Test
    void theLensReadsLlamaCppsPagesAndGetsTheSameResults(@TempDir Path dir) throws IOException {
        if (!Files.isReadable(Path.of("/proc/self/pagemap"))) requireOrSkip("no /proc/self/pagemap (not Linux)");
        Path model = RandomModels.write(Spec.small(Arch.QWEN3, 11), llamaCppDir(), dir);
        try (ModelSession session = ModelSession.open(model, new ProbeSettings(LensKind.NORM, 5, false, 0, 2, 0, List.of()), null)) {
            GgufTensor output = session.file().tensor("output.weight").orElseThrow();
            long pages = output.byteSize() / PAGE;
            assertTrue(pages > 9000, pages + " pages");
            LlamaModel.HostTensor host = session.model().hostTensor("output.weight").orElseThrow();
            assertNotEquals(output.data().address(), host.data().address(), "llama.cpp's mapping is another one");

            Probe.report(session, new PromptSpec("Question: What is the capital of Germany? Answer:", "Berlin"), List.of(), false);
            // The check of the bytes touches three 4 KiB samples, and the kernel maps the neighbouring pages of each
            // (fault-around; whole large folios on newer kernels: 199 pages here on Linux 6.18 and ext4), not the rest.
            long mapped = presentPages(output.data());
            assertTrue(mapped < pages / 4, mapped + " of " + pages + " pages of output.weight mapped in the session's own mapping");
            assertEquals(pages, presentPages(host.data()), 1, "llama.cpp's pages are all in (the lens read them)");

            float[][][] states = new float[3][2][(int) output.rowLength()];
            SplittableRandom random = new SplittableRandom(2);
            for (float[][] layer : states) for (float[] row : layer) for (int i = 0; i < row.length; i++) row[i] = (float) random.nextGaussian();
            LensRequest request = new LensRequest(LensKind.NORM, 5, new int[] {0, 1}, List.of(new TrackedToken("x", 7)));
            LensResult shared = LogitLens.run(session.head(), LayerStates.of(states), request, 2);
            LensResult own = LogitLens.run(HeadLookup.fromGguf(session.file()), LayerStates.of(states), request, 2);
            for (int layer = 0; layer < 3; layer++) {
                for (int p = 0; p < 2; p++) {
                    assertEquals(own.record(layer, p).entropyNats(), shared.record(layer, p).entropyNats(), 0.0);
                    assertEquals(own.record(layer, p).topK().getFirst().id(), shared.record(layer, p).topK().getFirst().id());
                    assertEquals(own.record(layer, p).tracked().getFirst().logProbability(), shared.record(layer, p).tracked().getFirst().logProbability(), 0.0);
                }
            }
            assertTrue(presentPages(output.data()) > pages / 2, "reading the file's head does map the session's pages");
        }
    }

    /** Pages of {@code segment} mapped in this process (bit 63 of each page's /proc/self/pagemap entry). */
    private static long presentPages(MemorySegment segment) throws IOException {
        long first = Math.ceilDiv(segment.address(), PAGE), last = (segment.address() + segment.byteSize()) / PAGE;
        ByteBuffer entries = ByteBuffer.allocate((int) ((last - first) * 8)).order(ByteOrder.nativeOrder());
        try (FileChannel pagemap = FileChannel.open(Path.of("/proc/self/pagemap"))) {
            while (entries.hasRemaining()) {
                if (pagemap.read(entries, first * 8 + entries.position()) < 0) break;
            }
        }
        entries.flip();
        long present = 0;
        while (entries.hasRemaining()) if (entries.getLong() < 0) present++;
        return present;
    }
}
