package dev.gguflens.quant;

import dev.gguflens.gguf.GgmlType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;

/**
 * The m = 1 product: single-vector dot products of one quantised row with x, decoding straight from the weights
 * into vector registers (no scratch array). The block and sub-block scales multiply partial sums of q*x instead of
 * every element, which is where these kernels differ from dequantise-then-dot: the weights are still exact, only
 * the summation order (and rounding) of the product changes. The kernels are {@link PackedRowKernels}' (128 and
 * 256 bits, every type) and, on 512-bit machines, Q8_0's 512-bit layout ({@link #wideKernel}); this
 * class routes to them and holds what they share.
 */
final class RowKernels {
    private RowKernels() {
    }

    /** Whether this machine has 512-bit vectors, where Q8_0 has a layout of its own. */
    static final boolean WIDE = FloatVector.SPECIES_PREFERRED.length() >= 16;

    /** Types with an m = 1 row kernel at this machine's vector width. */
    static boolean handles(GgmlType t) {
        return wideKernel(t) || PackedRowKernels.handles(t);
    }

    /**
     * Whether t runs on a 512-bit layout (Q8_0Rows.wideRows) rather than on {@link PackedRowKernels}. Q4_K, Q6_K and
     * F16 had 512-bit layouts here too (x in an array, widening conversions); on an AVX-512 machine (Xeon, Emerald
     * Rapids, 2 vCPUs) PackedRowKernels' kernels beat them: 151936 x 4096, two threads, alternating processes,
     * Java/ggml Q4_K 1.29 and 1.71 against 1.74 and 1.70, Q6_K 1.38 and 1.48 against 2.06 and 2.46 (at 256 bits,
     * x in native memory; Q6_K now at 512 bits, see Q6_KRows.QL), F16 1.25 and 1.32 against 1.46 and 1.50 (at 512 bits, see F16Rows.F); Q8_0's 512-bit
     * layout kept its lead (1.17-1.20 against 1.35-1.38 packed at 256 bits).
     */
    private static boolean wideKernel(GgmlType t) {
        return WIDE && VectorDecoder.ENABLED && switch (t) {
            case Q8_0 -> true;
            default -> false;
        };
    }

    /**
     * Per-call state derived from x: sums of x over each scale's sub-block (32 elements for Q4_K, 16 for
     * Q6_K), so a block's constant offset (Q4_K's min, Q6_K's 32) costs one product per sub-block, not per
     * element; x reordered to the order in which the kernel extracts the weights (or null where it reads x
     * as it is); the power of two 2^exponent by which xSums and xOrdered were scaled (see PackedRowKernels); and,
     * for the kernels that read x through a memory segment, xOrdered copied into native memory (else null).
     */
    record Prepared(float[] xSums, float[] xOrdered, int exponent, MemorySegment xOrderedNative) {
        Prepared {
            // The kernels read the native copy through an unbounded segment: a short one would be read past its end.
            if (xOrderedNative != null && (xOrdered == null || xOrderedNative.byteSize() != 4L * xOrdered.length)) {
                throw new IllegalArgumentException("native x of " + xOrderedNative.byteSize() + " bytes for "
                        + (xOrdered == null ? "no" : xOrdered.length) + " ordered elements");
            }
        }

        Prepared(float[] xSums, float[] xOrdered, int exponent) {
            this(xSums, xOrdered, exponent, null);
        }

        /** Without a power-of-two scale: the kernel's result is the product itself. */
        Prepared(float[] xSums, float[] xOrdered) {
            this(xSums, xOrdered, 0);
        }

        /**
         * With xOrdered in native memory as well. A kernel that reads x through a segment of unbounded size (see
         * PackedRowKernels.UNCUT) has no bounds checks on x, where C2 kept those of an array in loops whose index
         * it could not tie to the loop variable (Q4_K at 256 bits: 16 checks per block, 5 instructions each).
         * The memory is freed when the segment is no longer reachable.
         */
        Prepared withNativeX() {
            MemorySegment copy = Arena.ofAuto().allocate(4L * xOrdered.length, 64);
            MemorySegment.copy(xOrdered, 0, copy, ValueLayout.JAVA_FLOAT, 0, xOrdered.length);
            return new Prepared(xSums, xOrdered, exponent, copy);
        }
    }

    /** x as t's kernel reads it; null where the 512-bit layouts read x as it is. */
    static Prepared prepare(GgmlType t, float[] x, int cols) {
        return wideKernel(t) ? null : PackedRowKernels.prepare(t, x, cols);
    }

    /**
     * y[yo + j] = sum_k x[k] * W_j[k] for the {@code nr} rows stored back to back from native address
     * {@code address}. Every kernel reads its row through a segment it creates itself with
     * a view of its own: C2 then knows the segment's exact class, so every vector load from it is intrinsified.
     * A segment that arrives as a parameter leaves that to the receiver-type profile inside the JDK's shared
     * segment-access code, which other segment users (heap, mapped) pollute or which is simply empty when C2
     * compiles; then every load is a call and every vector is boxed, 2-3x slower, differently from run to run.
     */
    static void dotRows(GgmlType t, long address, int nr, long rowBytes, float[] x, int cols, Prepared prepared,
                        float[] y, int yo) {
        // One row loop per type: a shared loop would inline whichever kernels its profile saw, and with several
        // types in one process that runs past C2's node budget (Q8_0 at 86 ms instead of 17 after a Q6_K run).
        if (!wideKernel(t)) {
            PackedRowKernels.dotRows(t, address, nr, rowBytes, cols, prepared, y, yo);
            return;
        }
        switch (t) {
            case Q8_0 -> Q8_0Rows.wideRows(address, nr, rowBytes, x, cols / 32, y, yo);
            default -> throw new IllegalArgumentException("no row kernel for " + t);
        }
    }

    /**
     * Q4_K's and Q5_K's eight 6-bit scales (or mins) unpacked as in ggml's get_scale_min_k4, one per byte:
     * {@code low} is the word holding their low 6 bits for sub-blocks 0..3 (and the top 2 bits of 4..7 in bits 6-7
     * of each byte), {@code high} the low 4 bits of sub-blocks 4..7 in its low nibbles. The one unpacking the m = 1
     * row kernels share: scales from words 0 and 2, mins from word 1 and word 2's high nibbles.
     */
    static long sixBitBytes(int low, int high) {
        return (low & 0x3F3F3F3FL) | (long) ((high & 0x0F0F0F0F) | ((low >>> 2) & 0x30303030)) << 32;
    }
}
