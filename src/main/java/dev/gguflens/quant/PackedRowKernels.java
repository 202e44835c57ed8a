package dev.gguflens.quant;

import dev.gguflens.gguf.GgmlType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * The m = 1 row kernels for 128- and 256-bit vectors (NEON, SSE, AVX2; also the types that
 * {@link RowKernels}' 512-bit layouts do not cover, at 256 bits on AVX-512). Every load is one whole vector of
 * packed weights read as int lanes: lane i holds the 4 bytes (or 2 halves) at 4i (2i) of the chunk, and the j-th
 * byte of every lane is extracted at once with a shift and a mask. No instruction changes the vector shape (no
 * widening conversion, no shuffle but one per Q6_K scale group at 256 bits), so one code path serves both widths
 * and C2 maps every operation to one SSE/AVX/NEON instruction. That visits the weights of each run of k*L
 * elements (k per int lane) in the order "j-th of every lane", and x is put in that order once per call
 * ({@link #interleave}). Block and sub-block scales multiply lane-wise partial sums, as in {@link RowKernels}.
 * Each type's kernel is a class of its own (Q8_0Rows, ..., {@link Q4_KRows}, {@link Q5_KRows}, {@link Q6_KRows}),
 * sharing this class's species, x preparation and helpers.
 */
final class PackedRowKernels {
    /** 8 float lanes where the machine has 256-bit vectors or wider, else 4. */
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 256
            ? FloatVector.SPECIES_256 : FloatVector.SPECIES_128;
    static final int L = F.length();
    static final VectorSpecies<Integer> I = L == 8 ? IntVector.SPECIES_256 : IntVector.SPECIES_128;
    /** Where the machine has vectors of 128 bits or more (below that, the tiled path is faster). */
    static final boolean ENABLED = FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 128
            && !Boolean.getBoolean("gguflens.quant.scalar");
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);
    static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(LE);
    /**
     * Lane i's shift to its byte of the word it holds (8i mod 32), for Q4_K's and Q5_K's block heads: they widen a
     * block's 8 six-bit scales and mins by broadcasting the words that hold them, shifting and masking. They did so
     * first with a 64-bit vector built by withLane and a convertShape to floats; in two of seven bench processes at
     * 128 bits C2 then left a call in the Vector API's shape conversion uninlined for a low call-site frequency
     * (AbstractSpecies.makeDummyVector, -XX:CompileCommand=PrintInlining) and boxed vectors every block: Q4_K 4.6x
     * and Q5_K 6.5-6.7x their usual time, with a burst of ~30 young collections. These operations are the ones the
     * kernels' own loops use. That did not end such failures: where other vector code ran before the kernels (bench
     * measuring its roofline first), q4_k and q5_k at 128 bits still came out of C2 boxed in some processes (2-5x
     * their time), with the species checks of the vector operations in the second 16-byte chunk left unfolded in
     * C2's delayed inlining of the Vector API calls; the cause is not known.
     */
    static final IntVector BYTE_SHIFTS = IntVector.fromArray(I, new int[] {0, 8, 16, 24, 0, 8, 16, 24}, 0);
    /** At 256 bits, lanes 4-7 take the second word of the 8 bytes. */
    static final VectorMask<Integer> UPPER_FOUR = L == 8 ? VectorMask.fromLong(I, 0xF0) : null;

    private PackedRowKernels() {
    }

    static boolean handles(GgmlType t) {
        return ENABLED && switch (t) {
            case Q8_0, Q4_0, Q4_K, Q5_K, Q6_K, F16, BF16, F32 -> true;
            default -> false;
        };
    }

    /** x as the type's kernel reads it (the types with their own class prepare it there). */
    static RowKernels.Prepared prepare(GgmlType t, float[] x, int cols) {
        switch (t) {
            case Q8_0: return Q8_0Rows.prepare(x, cols);
            case Q4_0: return Q4_0Rows.prepare(x, cols);
            case F16: return F16Rows.prepare(x, cols);
            case BF16: return BF16Rows.prepare(x, cols);
            case F32: return F32Rows.prepare(x, cols);
            case Q4_K: return Q4_KRows.prepare(x, cols);
            case Q5_K: return Q5_KRows.prepare(x, cols);
            case Q6_K: return Q6_KRows.prepare(x, cols);
            default: throw new IllegalArgumentException("no row kernel for " + t);
        }
    }

    /**
     * For the 4-, 5- and 6-bit types (Q4_0 in {@link Q4_0Rows}, at its own lane count) each weight is extracted by
     * masking its byte in place, without shifting it down: byte j of a lane converts to q * 2^(8j), exactly. x at
     * that position is scaled by 2^-8j to match (power-of-two scaling, exact), after all of x has been scaled by
     * 2^exponent so that its largest magnitude lies in [1, 2): then 2^-24 times any value not below 2^-100 of the
     * largest stays a normal float. The rows multiply by 2^-exponent at the end, so the results are those of the
     * unscaled product.
     */
    static RowKernels.Prepared prepareMasked(GgmlType t, float[] x, int cols, int lanes) {
        int exponent = normalisingExponent(x, cols);
        float[] xs = x;
        if (exponent != 0) {
            xs = new float[cols];
            for (int k = 0; k < cols; k++) xs[k] = Math.scalb(x[k], exponent);
        }
        float[] xo = interleave(xs, cols, 4, lanes);
        int run = 4 * lanes;
        for (int k = 0; k < cols; k++) xo[k] = Math.scalb(xo[k], -8 * ((k % run) / lanes));
        float[] sums = switch (t) {
            case Q4_0, Q4_K, Q5_K -> subBlockSums(xs, cols, 32);
            // At 128 bits the offset pass reads the 16 scales as packed int lanes too, so their x sums are reordered.
            case Q6_K -> L == 4 ? interleave(subBlockSums(xs, cols, 16), cols / 16, 4, 4) : subBlockSums(xs, cols, 16);
            default -> null;
        };
        return new RowKernels.Prepared(sums, xo, exponent);
    }

    /** e such that max |x| * 2^e lies in [1, 2); 0 where x is all zeros or holds an infinity or NaN. */
    static int normalisingExponent(float[] x, int cols) {
        float max = 0;
        for (int k = 0; k < cols; k++) max = Math.max(max, Math.abs(x[k]));
        if (max == 0 || !Float.isFinite(max)) return 0;
        return -Math.getExponent(max);
    }

    /**
     * x in the order the kernels visit weights: within each run of k*lanes elements, position j*lanes + i holds
     * element k*i + j (the j-th weight of int lane i). A tail shorter than a run keeps its order.
     */
    static float[] interleave(float[] x, int n, int k, int lanes) {
        float[] xo = new float[n];
        for (int e = 0; e < n; e++) xo[interleavedIndex(e, n, k, lanes)] = x[e];
        return xo;
    }

    /** Where {@link #interleave} puts element e: within a whole run, element k*i + j goes to j*lanes + i. */
    static int interleavedIndex(int e, int n, int k, int lanes) {
        int run = k * lanes, inRun = e % run;
        if (e - inRun + run > n) return e;   // the tail shorter than a run keeps its order
        return e - inRun + (inRun % k) * lanes + inRun / k;
    }

    /** Sums of x over consecutive spans, each added left to right (a fixed order, so the same bits every call). */
    static float[] subBlockSums(float[] x, int cols, int span) {
        float[] sums = new float[cols / span];
        for (int s = 0; s < sums.length; s++) {
            float sum = 0;
            for (int i = 0; i < span; i++) sum += x[span * s + i];
            sums[s] = sum;
        }
        return sums;
    }

    /** y[yo + j] = row j times x, for the {@code nr} rows back to back from {@code address} (see RowKernels.dotRows). */
    static void dotRows(GgmlType t, long address, int nr, long rowBytes, int cols, RowKernels.Prepared p, float[] y, int yo) {
        // One row loop per type, so each compiles with only its own kernel inlined (see RowKernels.dotRows).
        float[] xo = p.xOrdered();
        switch (t) {
            case Q8_0 -> Q8_0Rows.rows(address, nr, rowBytes, xo, cols / 32, y, yo);
            case Q4_0 -> Q4_0Rows.rows(address, nr, rowBytes, xo, cols / 32, p.exponent(), p.xSums(), y, yo);
            case Q4_K -> Q4_KRows.rows(address, nr, rowBytes, p, cols / 256, y, yo);
            case Q5_K -> Q5_KRows.rows(address, nr, rowBytes, p, cols / 256, y, yo);
            case Q6_K -> Q6_KRows.rows(address, nr, rowBytes, p, cols / 256, y, yo);
            case F16 -> F16Rows.rows(address, nr, rowBytes, xo, cols, p.exponent(), y, yo);
            case BF16 -> BF16Rows.rows(address, nr, rowBytes, xo, cols, y, yo);
            case F32 -> F32Rows.rows(address, nr, rowBytes, xo, cols, y, yo);
            default -> throw new IllegalArgumentException("no row kernel for " + t);
        }
    }

    /**
     * The size of a row kernel's view that is not cut to the row: beyond any offset a kernel computes from an int
     * block index (at most a few hundred times 2^31, far below 2^62), so C2 proves the segment's bounds checks true
     * from the types alone and drops them from the block loops, where with the row's length it kept or dropped them
     * by profile (see Q8_0Rows.packed). The reads stay within the row because every loop runs over its blocks.
     */
    static final long UNCUT = Long.MAX_VALUE >> 1;

    /** The bytes [address, address + size) as a segment of a class C2 sees exactly (see RowKernels.dotRows). */
    static MemorySegment view(long address, long size) {
        return MemorySegment.ofAddress(address).reinterpret(size);
    }

    // The kernels read their F16 scales as Float.float16ToFloat(w.get(I16, off)) written out, not through a shared
    // helper: once C2 had compiled such a helper on its own (after another type's kernel ran in the process), it
    // called it instead of inlining it, one call per block with every vector register spilled around it (Q8_0 at
    // 128 bits, 151936 x 4096 on two threads: 116-119 ms after a Q6_K product, 47 with the read written out, 51-52
    // in a process of its own; bench's four-type process 78-86 ms against 49).
    // Vector code below calls no helper of this class that takes or returns a vector: such a helper, once C2 has
    // compiled it on its own, is not inlined again ("already compiled into a medium method") and every vector
    // crossing it is boxed. For the same reason the j loops stay loops in the source (C2 unrolls them after
    // inlining; written out four times they ran past its inlining node budget, NodeCountInliningCutoff, with
    // the same result: Q4_K 20x slower), and each kernel ends by storing its accumulator into a scratch array.

    /** The n lanes of a vector stored in lanes[0..n), summed in FloatLanes' fixed order: halves folded onto halves. */
    static float laneSum(float[] lanes, int n) {
        for (int half = n / 2; half >= 1; half /= 2) {
            for (int i = 0; i < half; i++) lanes[i] += lanes[i + half];
        }
        return lanes[0];
    }

}
