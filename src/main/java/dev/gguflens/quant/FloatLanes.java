package dev.gguflens.quant;

import jdk.incubator.vector.FloatVector;

/**
 * Horizontal sums in a fixed order. {@code reduceLanes(ADD)} leaves the order of float additions open, and
 * HotSpot's interpreter and its compiled intrinsic do choose differently, so the same row could give
 * different bits before and after JIT compilation, or on two threads at different stages. The lens ranks
 * tokens by exact logit comparisons, so every kernel sums lanes here: halves folded onto halves, lane-wise.
 */
final class FloatLanes {
    private FloatLanes() {}

    static float sum(FloatVector v) {
        for (int half = v.length() / 2; half >= 1; half /= 2) {
            v = v.add(v.slice(half));
        }
        return v.lane(0);
    }
}
