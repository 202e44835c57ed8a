package dev.gguflens.quant;

import dev.gguflens.gguf.GgmlType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Single-vector dot products of one quantised row with x, decoding straight from the weight segment
 * into vector registers (no scratch array). The block and sub-block scales multiply partial sums of
 * q*x instead of every element, which is where these kernels differ from dequantise-then-dot: the
 * weights are still exact, only the summation order (and rounding) of the product changes.
 * Used for m = 1, where the product is bound by reading the weights once. The layouts here are for 512-bit
 * vectors; {@link PackedRowKernels} serves 128 and 256 bits and the types these do not cover.
 */
final class RowKernels {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED.length() >= 16
            ? FloatVector.SPECIES_512 : FloatVector.SPECIES_256;
    static final int L = F.length();
    /** L bytes: one load converts into one float vector. */
    private static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(L * 8));
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(LE);
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(LE);
    /** L int lanes (the widened form of L packed bytes). */
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, VectorShape.forBitSize(L * 32));

    private RowKernels() {
    }

    /** Whether this machine has 512-bit vectors, for which the layouts in this class were written. */
    static final boolean WIDE = FloatVector.SPECIES_PREFERRED.length() >= 16;

    /** Types with an m = 1 row kernel at this machine's vector width: here at 512 bits, else {@link PackedRowKernels}. */
    static boolean handles(GgmlType t) {
        return wideKernel(t) || PackedRowKernels.handles(t);
    }

    /** Whether t runs on this class's 512-bit layouts rather than on {@link PackedRowKernels}. */
    private static boolean wideKernel(GgmlType t) {
        return WIDE && VectorDecoder.ENABLED && switch (t) {
            case Q8_0, Q4_K, Q6_K, F16 -> true;
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

    static Prepared prepare(GgmlType t, float[] x, int cols) {
        if (!wideKernel(t)) return PackedRowKernels.prepare(t, x, cols);
        return switch (t) {
            case Q4_K -> new Prepared(subBlockSums(x, cols, 32), null);
            case Q6_K -> new Prepared(subBlockSums(x, cols, 16), q6Order(x, cols));
            default -> null;
        };
    }

    private static float[] subBlockSums(float[] x, int cols, int span) {
        float[] sums = new float[cols / span];
        for (int s = 0; s < sums.length; s++) {
            FloatVector acc = FloatVector.fromArray(F, x, span * s);
            for (int l = L; l < span; l += L) acc = acc.add(FloatVector.fromArray(F, x, span * s + l));
            sums[s] = FloatLanes.sum(acc);
        }
        return sums;
    }

    /**
     * x permuted per 256-element block so that {@link #q6_k}'s (group g, byte j) vector of 16 weights meets
     * 16 consecutive floats: position 64g + 16j + i holds element 128(i/8) + 32g + 4(i%8) + j.
     */
    private static float[] q6Order(float[] x, int cols) {
        float[] xo = new float[cols];
        for (int base = 0; base < cols; base += 256) {
            for (int g = 0; g < 4; g++) {
                for (int j = 0; j < 4; j++) {
                    for (int i = 0; i < 16; i++) {
                        xo[base + 64 * g + 16 * j + i] = x[base + 128 * (i / 8) + 32 * g + 4 * (i % 8) + j];
                    }
                }
            }
        }
        return xo;
    }

    /**
     * y[yo + j] = sum_k x[k] * W_j[k] for the {@code nr} rows stored back to back from native address
     * {@code address}. Every kernel reads its row through a segment it creates itself with
     * {@link #view}: C2 then knows the segment's exact class, so every vector load from it is intrinsified.
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
            case F16 -> F16Rows.wideRows(address, nr, rowBytes, x, cols, y, yo);
            case Q4_K -> q4_kRows(address, nr, rowBytes, x, cols / 256, prepared.xSums(), y, yo);
            case Q6_K -> q6_kRows(address, nr, rowBytes, prepared.xOrdered(), cols / 256, prepared.xSums(), y, yo);
            default -> throw new IllegalArgumentException("no row kernel for " + t);
        }
    }

    private static void q4_kRows(long address, int nr, long rowBytes, float[] x, int blocks, float[] xSums, float[] y, int yo) {
        for (int j = 0; j < nr; j++) y[yo + j] = q4_k(address + j * rowBytes, x, blocks, xSums);
    }

    private static void q6_kRows(long address, int nr, long rowBytes, float[] xo, int blocks, float[] xSums16, float[] y, int yo) {
        for (int j = 0; j < nr; j++) y[yo + j] = q6_k(address + j * rowBytes, xo, blocks, xSums16);
    }

    /** The bytes [address, address + size) as a segment whose class C2 sees (see {@link #dotRows}). */
    private static MemorySegment view(long address, long size) {
        return MemorySegment.ofAddress(address).reinterpret(size);
    }

    private static FloatVector bytesAsFloats(MemorySegment w, long off) {
        return (FloatVector) ByteVector.fromMemorySegment(B, w, off, LE).convertShape(VectorOperators.B2F, F, 0);
    }

    private static FloatVector bc(float v) {
        return FloatVector.broadcast(F, v);
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

    /**
     * Per block: the scales and mins are unpacked here and the 256 nibbles go to {@link #q4Half}. That split
     * keeps each compiled method well under C2's inlining node budget (NodeCountInliningCutoff): with the whole
     * row in one method the budget ran out in some compilations and not in others, and past it the small
     * Vector API helpers stop being inlined and every vector is boxed (Q4_K m=1 at 30 or 100 ms by chance).
     * q4Half is above the hot-inlining size, so it is always compiled on its own; partial sums pass through
     * acc, as a vector cannot cross a call that is not inlined without being boxed.
     */
    private static float q4_k(long address, float[] x, int blocks, float[] xSums) {
        MemorySegment w = view(address, 144L * blocks);
        float[] acc = new float[L];
        float mins = 0;
        for (int b = 0; b < blocks; b++) {
            long o = 144L * b;
            // The 8 six-bit scales and mins, unpacked from three little-endian words (get_scale_min_k4),
            // one per byte: scales of sub-blocks 0..7 in bytes 0..7 of sc, mins likewise.
            int s0 = w.get(I32, o + 4), s1 = w.get(I32, o + 8), s2 = w.get(I32, o + 12);
            long sc = sixBitBytes(s0, s2);
            long mn = sixBitBytes(s1, s2 >>> 4);
            int k = 256 * b;
            float d = Float.float16ToFloat(w.get(I16, o));
            q4Half(address + o, 0, (int) sc, d, x, k, acc);
            q4Half(address + o, 1, (int) (sc >>> 32), d, x, k, acc);
            // w = d*sc*q - dmin*m: the min part is dmin * sum_j m_j * (sum of x over sub-block j).
            float t = 0;
            for (int j = 0; j < 8; j++) t = Math.fma((int) (mn >>> (8 * j)) & 0xFF, xSums[k / 32 + j], t);
            mins = Math.fma(Float.float16ToFloat(w.get(I16, o + 2)), t, mins);
        }
        return FloatLanes.sum(FloatVector.fromArray(F, acc, 0)) - mins;
    }

    /**
     * acc += d * sum_i sc_i * q_i * x_i over half h (128 weights: two 32-byte groups, low and high nibbles)
     * of the Q4_K block at {@code address}; sc holds that half's four scales, one per byte. A half rather than
     * a whole block per call: a whole block still ran past the node budget in its last few helpers.
     */
    private static void q4Half(long address, int h, int sc, float d, float[] x, int k, float[] acc) {
        MemorySegment w = view(address + 16 + 64 * h, 64);
        // Four FMA chains, one per sub-block, summing q*x; each sub-block's scale then multiplies its partial
        // sums once (an integer multiply per element, vpmulld, cost more than the rest of the decode).
        FloatVector c0 = FloatVector.zero(F), c1 = c0, c2 = c0, c3 = c0;
        int xk = k + 128 * h;
        for (int l = 0; l < 32; l += L) {
            // Nibbles split with 32-bit lane shifts and masks on the packed bytes (x86 has no byte shifts).
            IntVector u = ByteVector.fromMemorySegment(B, w, l, LE).reinterpretAsInts();
            IntVector v = ByteVector.fromMemorySegment(B, w, 32 + l, LE).reinterpretAsInts();
            c0 = toFloat(widen(u.and(0x0F0F0F0F))).fma(FloatVector.fromArray(F, x, xk + l), c0);
            c1 = toFloat(widen(u.lanewise(VectorOperators.LSHR, 4).and(0x0F0F0F0F)))
                    .fma(FloatVector.fromArray(F, x, xk + 32 + l), c1);
            c2 = toFloat(widen(v.and(0x0F0F0F0F))).fma(FloatVector.fromArray(F, x, xk + 64 + l), c2);
            c3 = toFloat(widen(v.lanewise(VectorOperators.LSHR, 4).and(0x0F0F0F0F)))
                    .fma(FloatVector.fromArray(F, x, xk + 96 + l), c3);
        }
        FloatVector scaled = c0.mul(sc & 0xFF).add(c1.mul((sc >>> 8) & 0xFF))
                .add(c2.mul((sc >>> 16) & 0xFF).add(c3.mul(sc >>> 24)));
        scaled.fma(FloatVector.broadcast(F, d), FloatVector.fromArray(F, acc, 0)).intoArray(acc, 0);
    }

    private static FloatVector toFloat(IntVector v) {
        return (FloatVector) v.convert(VectorOperators.I2F, 0);
    }

    /** L packed bytes (each 0..127) to L int lanes. */
    private static IntVector widen(IntVector packedBytes) {
        return (IntVector) packedBytes.reinterpretAsBytes().convertShape(VectorOperators.B2I, I, 0);
    }

    private static final VectorSpecies<Integer> INT16 = IntVector.SPECIES_512;
    private static final VectorSpecies<Byte> B64 = ByteVector.SPECIES_512;
    private static final VectorSpecies<Byte> B16 = ByteVector.SPECIES_128;
    /** Lanes 8..15: where a blend takes the second half block's bytes. */
    private static final VectorMask<Integer> SECOND_HALF = VectorMask.fromLong(INT16, 0xFF00L);
    /** Per group g (32 weights of each half block), the scale of each lane: lane i uses scale 8(i/8) + (i%8)/4 + 2g. */
    private static final VectorShuffle<Integer>[] GROUP_SCALES = groupScaleShuffles();

    @SuppressWarnings("unchecked")
    private static VectorShuffle<Integer>[] groupScaleShuffles() {
        VectorShuffle<Integer>[] shuffles = new VectorShuffle[4];
        for (int g = 0; g < 4; g++) {
            int[] idx = new int[16];
            for (int i = 0; i < 16; i++) idx[i] = 8 * (i / 8) + (i % 8) / 4 + 2 * g;
            shuffles[g] = VectorShuffle.fromArray(INT16, idx, 0);
        }
        return shuffles;
    }

    /**
     * Q6_K with 16 int lanes, both half blocks at once and without any widening conversion: int lane i of
     * a vector holds 4 packed quant bytes of half block i/8, the 6-bit values (stored as q+32) are assembled
     * in place with 32-bit shifts and masks, and byte j of every lane is then extracted by a shift and a mask.
     * That visits the weights in a fixed permuted order, which x was put in beforehand ({@link #q6Order}).
     * Each lane sums (q+32)*x over a group and its sub-block scale multiplies that sum once; the offset 32 and
     * the block scale d are applied per block.
     */
    private static float q6_k(long address, float[] xo, int blocks, float[] xSums16) {
        // Four calls per block, each well under C2's node budget (one method for the whole block, or for two
        // groups, exceeds it, and then Vector API calls stop being inlined); partial sums pass through acc, as
        // a vector cannot cross a call that is not inlined without being boxed.
        MemorySegment w = view(address, 210L * blocks);
        float[] acc = new float[L];
        for (int b = 0; b < blocks; b++) {
            long o = 210L * b;
            float d = Float.float16ToFloat(w.get(I16, o + 208));
            q6Group(address + o, 0, false, d, xo, 256 * b, acc);
            q6Group(address + o, 0, true, d, xo, 256 * b, acc);
            q6Group(address + o, 1, false, d, xo, 256 * b, acc);
            q6Group(address + o, 1, true, d, xo, 256 * b, acc);
        }
        q6Offsets(address, blocks, xSums16, acc);
        return FloatLanes.sum(FloatVector.fromArray(F, acc, 0));
    }

    /** The stored offset of 32: acc -= 32 * d * sum_i sc_i * (sum of x over sub-block i), for every block. */
    private static void q6Offsets(long address, int blocks, float[] xSums16, float[] acc) {
        MemorySegment w = view(address, 210L * blocks);
        long off = 0;
        FloatVector a = FloatVector.fromArray(F, acc, 0);
        for (int b = 0; b < blocks; b++) {
            long o = off + 210L * b;
            a = bytesAsFloats(w, o + 192).mul(FloatVector.fromArray(F, xSums16, 16 * b)).fma(bc(-32f * Float.float16ToFloat(w.get(I16, o + 208))), a);
        }
        a.intoArray(acc, 0);
    }

    /**
     * acc += d * sum (q+32)*sc*x over group t (high = false) or t+2 (high = true) of the block at
     * {@code address}: t = 0 uses ql bytes 0..31 of each half, t = 1 bytes 32..63; group t is their low
     * nibbles, group t+2 their high nibbles.
     */
    private static void q6Group(long address, int t, boolean high, float d, float[] xo, int k, float[] acc) {
        MemorySegment w = view(address, 210);
        IntVector qh = ByteVector.fromMemorySegment(B64, w, 128, LE).reinterpretAsInts();
        IntVector scales = (IntVector) ByteVector.fromMemorySegment(B16, w, 192, LE).convertShape(VectorOperators.B2I, INT16, 0);
        IntVector ql = ByteVector.fromMemorySegment(B64, w, 32 * t, LE).reinterpretAsInts()
                .blend(ByteVector.fromMemorySegment(B64, w, 32 + 32 * t, LE).reinterpretAsInts(), SECOND_HALF);
        IntVector q = high
                ? ql.lanewise(VectorOperators.LSHR, 4).and(0x0F0F0F0F).or(qh.lanewise(VectorOperators.LSHR, 2 * t).and(0x30303030))
                : ql.and(0x0F0F0F0F).or(qh.lanewise(VectorOperators.LSHL, 4 - 2 * t).and(0x30303030));
        IntVector sc = scales.rearrange(GROUP_SCALES[high ? 2 + t : t]);
        int xk = k + (high ? 128 : 0) + 64 * t;
        FloatVector a0 = FloatVector.zero(F), a1 = a0;
        for (int j = 0; j < 4; j += 2) {
            a0 = toFloat(q.lanewise(VectorOperators.LSHR, 8 * j).and(0xFF)).fma(FloatVector.fromArray(F, xo, xk + 16 * j), a0);
            a1 = toFloat(q.lanewise(VectorOperators.LSHR, 8 * j + 8).and(0xFF)).fma(FloatVector.fromArray(F, xo, xk + 16 * j + 16), a1);
        }
        // Every lane keeps one scale for the whole group, so it multiplies the lane's partial sum once.
        a0.add(a1).mul(toFloat(sc)).fma(FloatVector.broadcast(F, d), FloatVector.fromArray(F, acc, 0)).intoArray(acc, 0);
    }
}
