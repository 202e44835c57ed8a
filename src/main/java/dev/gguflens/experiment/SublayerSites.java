package dev.gguflens.experiment;

import dev.gguflens.lens.LayerStates;
import dev.gguflens.lens.ResidualSites;
import dev.gguflens.llama.Capture;
import dev.gguflens.llama.CaptureRequest;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Which llama.cpp graph tensors hold the sub-layer sites, and reading them from a capture. In the pinned llama.cpp
 * (src/models/*.cpp, src/llama-graph.cpp) every block names, via its eval callback:
 * <ul>
 * <li>{@code kqv_out-i}: the heads' outputs concatenated, before the output projection W_o (build_attn, all
 *     architectures; with a quantised V cache llama.cpp rotates V, and kqv_out is then in the rotated basis);</li>
 * <li>the residual after the attention has been added: {@code ffn_inp-i} in llama, qwen2, qwen3 and most others;
 *     {@code sa_out-i} in gemma2/gemma3, whose attention output is post-normed ({@code attn_post_norm-i}) first;</li>
 * <li>{@code l_out-i}: the block's output (the probe's layer i + 1).</li>
 * </ul>
 * {@code ffn_out-i} is not used: the llama builder gives that name both to the MLP output and to the residual after
 * it, and gemma2's MLP output is post-normed after it; the MLP's share is the block output minus the mid state.
 */
public final class SublayerSites {
    /** Mid-block residual names, tried in this order. */
    static final List<String> MID_NAMES = List.of("ffn_inp", "sa_out");
    static final String HEADS_NAME = "kqv_out";

    private SublayerSites() {}

    /** What to capture for the mid-block states and (with {@code heads}) the heads of {@code blocks} blocks. */
    public static CaptureRequest request(int blocks, boolean heads) {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < blocks; i++) {
            for (String mid : MID_NAMES) names.add(mid + "-" + i);
            if (heads) names.add(HEADS_NAME + "-" + i);
        }
        return new CaptureRequest(true, false, true, names);
    }

    /** Block {@code block}'s mid state at a position, from whichever name the architecture uses. */
    public static Optional<MemorySegment> mid(Capture capture, int block, int position) {
        for (String name : MID_NAMES) {
            Optional<MemorySegment> s = capture.extra(name + "-" + block, position);
            if (s.isPresent()) return s;
        }
        return Optional.empty();
    }

    /** The residual stream around every block at {@code position}; fails naming what the graph did not have. */
    public static ResidualSites at(Capture capture, int position, String architecture) {
        int blocks = capture.layers() - 1;
        float[][] residual = new float[blocks + 1][];
        float[][] mid = new float[blocks][];
        float[][] heads = new float[blocks][];
        for (int layer = 0; layer <= blocks; layer++) residual[layer] = capture.layerStateArray(layer, position);
        for (int i = 0; i < blocks; i++) {
            final int block = i;
            mid[i] = mid(capture, i, position).map(SublayerSites::floats).orElseThrow(() -> new UnsupportedOperationException(
                    "the llama.cpp graph for architecture " + architecture + " names no mid-block residual (" + String.join("-"
                            + block + ", ", MID_NAMES) + "-" + block + "); attribution needs the state between attention and MLP"));
            heads[i] = capture.extra(HEADS_NAME + "-" + i, position).map(SublayerSites::floats)
                    .orElseThrow(() -> new UnsupportedOperationException("the llama.cpp graph for architecture " + architecture
                            + " names no " + HEADS_NAME + "-" + block + "; attribution needs the heads' outputs"));
        }
        return new ResidualSites(residual, mid, heads);
    }

    /**
     * The mid-block states of a capture as lens input: row i is block i's residual after its attention (n_layer
     * rows, every position); fails naming the architecture when its graph has no such tensor.
     */
    public static LayerStates midStates(Capture capture, String architecture) {
        int blocks = capture.layers() - 1;
        for (int i = 0; i < blocks; i++) {
            if (mid(capture, i, 0).isEmpty()) {
                throw new UnsupportedOperationException("the llama.cpp graph for architecture " + architecture
                        + " names no mid-block residual (" + String.join("-" + i + ", ", MID_NAMES) + "-" + i
                        + "); --sublayers needs the state between attention and MLP");
            }
        }
        return LayerStates.ofSegments(blocks, capture.positions(), capture.embeddingLength(),
                (layer, position) -> mid(capture, layer, position).orElseThrow());
    }

    private static float[] floats(MemorySegment s) {
        return s.toArray(ValueLayout.JAVA_FLOAT);
    }
}
