package dev.gguflens.experiment;

import dev.gguflens.lens.AttentionOutputs;
import dev.gguflens.lens.Attribution;
import dev.gguflens.lens.LensKind;
import dev.gguflens.lens.LogitAttribution;
import dev.gguflens.llama.Capture;
import dev.gguflens.llama.KvCacheType;
import dev.gguflens.testmodels.RandomModels;
import dev.gguflens.testmodels.RandomModels.Arch;
import dev.gguflens.testmodels.RandomModels.Spec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static dev.gguflens.testmodels.Fixtures.llamaCppDir;
import static dev.gguflens.testmodels.Fixtures.requireNative;
import static org.junit.jupiter.api.Assertions.*;

/**
 * A q8_0 KV cache on a model with 64-wide heads: llama.cpp rotates V and kqv_out with it. Attribute turns kqv_out
 * back, so the heads sum to each block's attention part again; the same split of the raw kqv_out misses it by far.
 */
class AttributeRotatedVTest {
    @TempDir static Path dir;

    @Test
    void headsOfARotatedVCacheSumToTheAttentionPart() {
        requireNative();
        Assumptions.requireRotation();
        Path model = RandomModels.write(Spec.kQuantable(Arch.LLAMA, 9), llamaCppDir(), dir);
        ProbeSettings settings = new ProbeSettings(LensKind.NORM, 1, false, 0, 2, 256, List.of(), KvCacheType.Q8_0, null,
                AnswerMode.FIRST);
        String prompt = "Once upon a time there was a little dog who liked to run";
        try (ModelSession session = ModelSession.open(model, settings, null)) {
            AttributionReport r = new Attribute(session).run(prompt, "and", null, null);
            assertEquals("q8_0", r.kvCache().type());
            assertTrue(r.notes().stream().anyMatch(n -> n.contains("rotated by llama.cpp")), r.notes().toString());
            for (AttributionReport.Block b : r.blocks()) {
                double heads = b.heads().stream().mapToDouble(Double::doubleValue).sum();
                System.out.printf("block %d: attention %.6f, heads %.6f, remainder %.2e%n", b.block(), b.attention(), heads,
                        b.headsRemainder());
                assertEquals(b.attention(), heads + b.attentionBias(), 1e-4 * Math.max(1, Math.abs(b.attention())),
                        "block " + b.block() + ": the un-rotated heads sum to the attention part");
            }

            // Control: the raw (rotated) kqv_out split into heads misses the attention part.
            int[] tokens = session.tokenizePrompt(prompt);
            AttentionOutputs attention = AttentionOutputs.fromGguf(session.file());
            try (Capture capture = session.capture(tokens, SublayerSites.request(session.model().layerCount(), true))) {
                var sites = SublayerSites.at(capture, tokens.length - 1, session.model().architecture());
                Attribution raw = LogitAttribution.compute(session.head(), attention, sites, r.answerId(), -1,
                        capture.logitsArray(tokens.length - 1), 2);
                double worst = raw.blocks().stream().mapToDouble(b -> Math.abs(b.remainder()) / Math.max(1, Math.abs(b.attention())))
                        .max().orElseThrow();
                assertTrue(worst > 1e-2, "without un-rotation the heads miss the attention part: " + worst);
            }
        }
    }

    /** Skips when the environment switches llama.cpp's rotation off. */
    private static final class Assumptions {
        static void requireRotation() {
            org.junit.jupiter.api.Assumptions.assumeTrue(dev.gguflens.lens.HadamardRotation.llamaRotatesV(true, 64),
                    "LLAMA_ATTN_ROT_DISABLE is set");
        }
    }
}
