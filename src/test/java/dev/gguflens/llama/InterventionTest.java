package dev.gguflens.llama;

import dev.gguflens.gguf.GgufFile;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;

import static dev.gguflens.llama.NativeTestSupport.f32;
import static dev.gguflens.testmodels.Fixtures.requireNative;
import static dev.gguflens.testmodels.Fixtures.stories260K;
import static dev.gguflens.testmodels.Fixtures.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The intervention primitive on the real tiny model: writing a run's own states back changes nothing (bit for
 * bit), writing the clean run's states into a corrupted run at one layer gives the clean run, and an edit of the
 * embedding rows taken from the GGUF file itself equals running the edited prompt.
 */
class InterventionTest {
    private static final String CLEAN = "Once upon a time, there was a little girl named";
    private static final String CORRUPT = "Once upon a time, there was a little boy named";
    private static LlamaModel model;
    private static GgufFile gguf;

    @BeforeAll
    static void load() {
        requireNative();
        var path = stories260K();
        model = LlamaModel.load(path, ModelParams.defaults());
        gguf = GgufFile.open(path);
    }

    @AfterAll
    static void close() {
        if (model != null) model.close();
        if (gguf != null) gguf.close();
    }

    private static int[] all(int n) {
        return IntStream.range(0, n).toArray();
    }

    private static List<String> blockTensors() {
        List<String> names = new ArrayList<>();
        for (int il = 0; il < model.layerCount(); il++) {
            names.addAll(List.of("kqv_out-" + il, "ffn_inp-" + il, "ffn_swiglu-" + il, "ffn_out-" + il));
        }
        return names;
    }

    private static void assertSameLogits(Capture expected, Capture actual, String what) {
        for (int p = 0; p < expected.positions(); p++) {
            assertArrayEquals(expected.logitsArray(p), actual.logitsArray(p), what + ": logits at position " + p);
        }
    }

    @Test
    void writingARunsOwnStatesBackChangesNothing() {
        int[] tokens = model.tokenize(CORRUPT, true, false);
        int n = tokens.length;
        CaptureRequest request = new CaptureRequest(true, false, true, blockTensors());
        try (var ctx = LlamaContext.create(model, new ContextParams(128, 128, 2));
             var plain = ctx.capture(tokens, request)) {
            assertEquals(blockTensors().size(), plain.extraNames().size(), "every block tensor exists in llama's graph");
            List<Intervention> everything = new ArrayList<>();
            for (int layer = 0; layer < plain.layers(); layer++) {
                everything.add(Intervention.replaceRows(Intervention.residualTensor(layer), all(n), plain.layerStates(layer),
                        plain.embeddingLength()));
            }
            for (String name : blockTensors()) {
                everything.add(Intervention.replaceRows(name, all(n), plain.extra(name).orElseThrow(), plain.extraWidth(name)));
            }
            try (var patched = ctx.capture(tokens, request, everything)) {
                assertSameLogits(plain, patched, "self-patch");
            }
        }
    }

    @Test
    void cleanStatesAtEveryPositionOfOneLayerGiveTheCleanRun() {
        int[] clean = model.tokenize(CLEAN, true, false);
        int[] corrupt = model.tokenize(CORRUPT, true, false);
        assertEquals(clean.length, corrupt.length);
        int n = clean.length;
        try (var ctx = LlamaContext.create(model, new ContextParams(128, 128, 2));
             var cleanRun = ctx.capture(clean, new CaptureRequest(true, false, true, List.of()));
             var corruptRun = ctx.capture(corrupt, new CaptureRequest(false, false, true, List.of()))) {
            assertFalse(Arrays.equals(cleanRun.logitsArray(n - 1), corruptRun.logitsArray(n - 1)), "the prompts differ");
            for (int layer = 0; layer < cleanRun.layers(); layer++) {
                var patch = Intervention.replaceRows(Intervention.residualTensor(layer), all(n), cleanRun.layerStates(layer),
                        model.embeddingLength());
                try (var patched = ctx.capture(corrupt, new CaptureRequest(false, false, true, List.of()), List.of(patch))) {
                    assertSameLogits(cleanRun, patched, "layer " + layer);
                }
            }
        }
    }

    @Test
    void embeddingRowsFromTheFileMakeTheCorruptedPromptTheCleanOne() {
        int[] clean = model.tokenize(CLEAN, true, false);
        int[] corrupt = model.tokenize(CORRUPT, true, false);
        int[] differing = IntStream.range(0, clean.length).filter(i -> clean[i] != corrupt[i]).toArray();
        assertArrayEquals(new int[] {10, 11, 12}, differing, "girl/boy: three tokens each");
        int nEmbd = model.embeddingLength();
        float[] embd = f32(gguf, "token_embd.weight");
        MemorySegment rows = Arena.ofAuto().allocate(ValueLayout.JAVA_FLOAT, (long) differing.length * nEmbd);
        for (int k = 0; k < differing.length; k++) {
            MemorySegment.copy(embd, clean[differing[k]] * nEmbd, rows, ValueLayout.JAVA_FLOAT, (long) k * nEmbd * Float.BYTES, nEmbd);
        }
        try (var ctx = LlamaContext.create(model, new ContextParams(128, 128, 2));
             var cleanRun = ctx.capture(clean, new CaptureRequest(false, false, true, List.of()));
             var edited = ctx.capture(corrupt, new CaptureRequest(false, false, true, List.of()),
                     List.of(Intervention.replaceRows(Intervention.RESIDUAL_INPUT, differing, rows, nEmbd)))) {
            assertSameLogits(cleanRun, edited, "embedding edit");
        }
    }

    @Test
    void columnWritesAndAdditionsLandExactlyAndFlowDownstream() {
        int[] tokens = model.tokenize(CLEAN, true, false);
        int n = tokens.length;
        int headDim = model.embeddingLength() / 8;  // stories260K: 8 heads of 8
        int[] head3 = IntStream.range(3 * headDim, 4 * headDim).toArray();
        float[] steer = new float[model.embeddingLength()];
        for (int i = 0; i < steer.length; i++) steer[i] = (i % 7 - 3) * 0.25f;
        CaptureRequest request = new CaptureRequest(true, false, true, List.of("kqv_out-2"));
        try (var ctx = LlamaContext.create(model, new ContextParams(128, 128, 2));
             var plain = ctx.capture(tokens, request);
             var ablated = ctx.capture(tokens, request, List.of(
                     Intervention.setColumns("kqv_out-2", all(n), head3, new float[headDim]),
                     Intervention.addToRows("l_out-3", new int[] {4, 9}, steer)))) {
            for (int p = 0; p < n; p++) {
                float[] before = plain.extra("kqv_out-2", p).orElseThrow().toArray(ValueLayout.JAVA_FLOAT);
                float[] after = ablated.extra("kqv_out-2", p).orElseThrow().toArray(ValueLayout.JAVA_FLOAT);
                for (int c = 0; c < before.length; c++) {
                    assertEquals(c / headDim == 3 ? 0f : before[c], after[c], 0f, "kqv_out-2 column " + c + " at " + p);
                }
                // Layers before block 2 are untouched; block 2's output changes.
                assertArrayEquals(plain.layerStateArray(2, p), ablated.layerStateArray(2, p));
            }
            assertFalse(Arrays.equals(plain.layerStateArray(3, n - 1), ablated.layerStateArray(3, n - 1)));
            // The capture of l_out-3 (layer 4) records what the next block reads: the ablated run's state plus the vector.
            try (var ablatedOnly = ctx.capture(tokens, request, List.of(
                    Intervention.setColumns("kqv_out-2", all(n), head3, new float[headDim])))) {
                for (int p : new int[] {4, 9}) {
                    float[] base = ablatedOnly.layerStateArray(4, p);
                    float[] steered = ablated.layerStateArray(4, p);
                    for (int i = 0; i < base.length; i++) assertEquals(base[i] + steer[i], steered[i], 0f, "steered " + p + "/" + i);
                }
                assertArrayEquals(ablatedOnly.layerStateArray(4, 3), ablated.layerStateArray(4, 3), "unsteered row");
            }
        }
    }

    @Test
    void parallelSequencesOnASharedPrefixMatchSingleRuns() {
        int[] clean = model.tokenize(CLEAN, true, false);
        int[] corrupt = model.tokenize(CORRUPT, true, false);
        int n = clean.length;
        int vocab = model.vocabSize();
        try (var ctx = LlamaContext.create(model, new ContextParams(256, 128, 2), 4);
             var cleanRun = ctx.capture(clean, new CaptureRequest(true, false, true, List.of()))) {
            // Three patched runs of the corrupted prompt, each in its own sequence, reusing the corrupted prefix.
            // {layer, position}: positions 10-12 spell girl/boy; the last layer matters only at the last position.
            int[][] patches = {{2, 10}, {0, 11}, {5, 13}};
            float[][] single = new float[patches.length][];
            for (int k = 0; k < patches.length; k++) {
                int layer = patches[k][0], pos = patches[k][1];
                var iv = Intervention.replaceRows(Intervention.residualTensor(layer), new int[] {pos},
                        cleanRun.layerStates(layer).asSlice((long) pos * model.embeddingLength() * Float.BYTES), model.embeddingLength());
                try (var run = ctx.capture(corrupt, new CaptureRequest(false, false, true, List.of()), List.of(iv))) {
                    single[k] = run.logitsArray(n - 1);
                }
            }
            float[] corruptLast;
            try (var corruptRun = ctx.capture(corrupt, new CaptureRequest(false, false, true, List.of()))) {
                corruptLast = corruptRun.logitsArray(n - 1);
            }
            // The cache now holds the corrupted prompt as sequence 0.
            int rows = 0;
            for (int[] p : patches) rows += n - p[1];
            int[] tokens = new int[rows], positions = new int[rows], seqs = new int[rows], outputs = new int[patches.length];
            List<Intervention> ivs = new ArrayList<>();
            int row = 0;
            for (int k = 0; k < patches.length; k++) {
                int layer = patches[k][0], pos = patches[k][1], seq = k + 1;
                ctx.copySequence(0, seq, 0, pos);
                ivs.add(Intervention.replaceRows(Intervention.residualTensor(layer), new int[] {row},
                        cleanRun.layerStates(layer).asSlice((long) pos * model.embeddingLength() * Float.BYTES), model.embeddingLength()));
                for (int p = pos; p < n; p++, row++) {
                    tokens[row] = corrupt[p];
                    positions[row] = p;
                    seqs[row] = seq;
                }
                outputs[k] = row - 1;
            }
            MemorySegment logits = Arena.ofAuto().allocate(ValueLayout.JAVA_FLOAT, (long) patches.length * vocab);
            ctx.decode(new DecodeBatch(tokens, positions, seqs, outputs), ivs, logits);
            for (int k = 0; k < patches.length; k++) {
                float[] batched = logits.asSlice((long) k * vocab * Float.BYTES, (long) vocab * Float.BYTES).toArray(ValueLayout.JAVA_FLOAT);
                double diff = 0, scale = 0;
                for (int i = 0; i < vocab; i++) {
                    diff = Math.max(diff, Math.abs(batched[i] - single[k][i]));
                    scale = Math.max(scale, Math.abs(single[k][i]));
                }
                assertTrue(diff <= 1e-4 * scale, "patch " + Arrays.toString(patches[k]) + ": max |diff| " + diff);
                assertFalse(Arrays.equals(corruptLast, single[k]), "the patch changes the prediction");
            }
            for (int k = 0; k < patches.length; k++) ctx.removeSequence(k + 1);
        }
    }

    @Test
    void unknownTensorsAndWrongWidthsFailWithAMessage() {
        int[] tokens = model.tokenize(CLEAN, true, false);
        try (var ctx = LlamaContext.create(model, new ContextParams(128, 128, 2))) {
            var unknown = Intervention.addToRows("no_such_tensor-1", new int[] {0}, new float[64]);
            var e = assertThrows(LlamaException.class, () -> ctx.capture(tokens, CaptureRequest.all(), List.of(unknown)).close());
            assertTrue(e.getMessage().contains("no_such_tensor-1"), e.getMessage());
            var narrow = Intervention.addToRows("l_out-1", new int[] {0}, new float[10]);
            e = assertThrows(LlamaException.class, () -> ctx.capture(tokens, CaptureRequest.all(), List.of(narrow)).close());
            assertTrue(e.getMessage().contains("10 floats"), e.getMessage());
            var outside = Intervention.addToRows("l_out-1", new int[] {tokens.length}, new float[64]);
            assertThrows(IllegalArgumentException.class, () -> ctx.capture(tokens, CaptureRequest.all(), List.of(outside)));
            // The context still works afterwards, with no intervention left behind.
            try (var a = ctx.capture(tokens, CaptureRequest.all()); var b = ctx.capture(tokens, CaptureRequest.all())) {
                assertSameLogits(a, b, "after failures");
            }
        }
    }
}
