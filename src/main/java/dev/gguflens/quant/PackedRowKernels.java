package dev.gguflens.quant;

import dev.gguflens.gguf.GgmlType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
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
 */
final class PackedRowKernels {
    /** 8 float lanes where the machine has 256-bit vectors or wider, else 4. */
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 256
            ? FloatVector.SPECIES_256 : FloatVector.SPECIES_128;
    static final int L = F.length();
    private static final VectorSpecies<Integer> I = L == 8 ? IntVector.SPECIES_256 : IntVector.SPECIES_128;
    /** Q4_0's 16 quant bytes fill exactly one 128-bit vector, so it runs at 128 bits on every machine. */
    private static final VectorSpecies<Float> F4 = FloatVector.SPECIES_128;
    private static final VectorSpecies<Integer> I4 = IntVector.SPECIES_128;
    /** The 8 sub-block scales of one Q6_K half block (8 bytes), widened to 8 floats at 256 bits. */
    private static final VectorSpecies<Byte> B8 = ByteVector.SPECIES_64;
    /** Where the machine has vectors of 128 bits or more (below that, the tiled path is faster). */
    static final boolean ENABLED = FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 128
            && !Boolean.getBoolean("gguflens.quant.scalar");
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(LE);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE);
    /**
     * At 256 bits a 32-byte Q6_K chunk spans two 16-weight sub-blocks: lanes 0-3 take scale 2t, lanes 4-7
     * scale 2t+1 of the half block's 8 scales (t = the chunk's 32-weight group).
     */
    private static final VectorShuffle<Float> Q6_SCALES_0 = q6Scales(0), Q6_SCALES_1 = q6Scales(1),
            Q6_SCALES_2 = q6Scales(2), Q6_SCALES_3 = q6Scales(3);

    private PackedRowKernels() {
    }

    private static VectorShuffle<Float> q6Scales(int t) {
        int[] idx = new int[L];
        for (int i = 0; i < L; i++) idx[i] = Math.min(7, 2 * t + i / 4);
        return VectorShuffle.fromArray(F, idx, 0);
    }

    static boolean handles(GgmlType t) {
        return ENABLED && switch (t) {
            case Q8_0, Q4_0, Q4_K, Q5_K, Q6_K, F16, BF16, F32 -> true;
            default -> false;
        };
    }

    /** Weights per int lane (4 bytes, or 2 halves; F32 is read as floats and not reordered). */
    private static int perLane(GgmlType t) {
        return switch (t) {
            case F16, BF16 -> 2;
            case F32 -> 1;
            default -> 4;
        };
    }

    static RowKernels.Prepared prepare(GgmlType t, float[] x, int cols) {
        int lanes = t == GgmlType.Q4_0 ? F4.length() : L;
        float[] xo = perLane(t) == 1 ? x : interleave(x, cols, perLane(t), lanes);
        float[] sums = switch (t) {
            case Q4_K, Q5_K -> subBlockSums(x, cols, 32);
            // At 128 bits the offset pass reads the 16 scales as packed int lanes too, so their x sums are reordered.
            case Q6_K -> L == 4 ? interleave(subBlockSums(x, cols, 16), cols / 16, 4, 4) : subBlockSums(x, cols, 16);
            default -> null;
        };
        return new RowKernels.Prepared(sums, xo);
    }

    /**
     * x in the order the kernels visit weights: within each run of k*lanes elements, position j*lanes + i holds
     * element k*i + j (the j-th weight of int lane i). A tail shorter than a run keeps its order.
     */
    static float[] interleave(float[] x, int n, int k, int lanes) {
        float[] xo = new float[n];
        int run = k * lanes, base = 0;
        for (; base + run <= n; base += run) {
            for (int j = 0; j < k; j++) {
                for (int i = 0; i < lanes; i++) xo[base + j * lanes + i] = x[base + k * i + j];
            }
        }
        System.arraycopy(x, base, xo, base, n - base);
        return xo;
    }

    /** Sums of x over consecutive spans, each added left to right (a fixed order, so the same bits every call). */
    private static float[] subBlockSums(float[] x, int cols, int span) {
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
            case Q8_0 -> q8_0Rows(address, nr, rowBytes, xo, cols / 32, y, yo);
            case Q4_0 -> q4_0Rows(address, nr, rowBytes, xo, cols / 32, y, yo);
            case Q4_K -> q4_kRows(address, nr, rowBytes, xo, cols / 256, p.xSums(), y, yo);
            case Q5_K -> q5_kRows(address, nr, rowBytes, xo, cols / 256, p.xSums(), y, yo);
            case Q6_K -> q6_kRows(address, nr, rowBytes, xo, cols / 256, p.xSums(), y, yo);
            case F16 -> f16Rows(address, nr, rowBytes, xo, cols, y, yo);
            case BF16 -> bf16Rows(address, nr, rowBytes, xo, cols, y, yo);
            case F32 -> f32Rows(address, nr, rowBytes, xo, cols, y, yo);
            default -> throw new IllegalArgumentException("no row kernel for " + t);
        }
    }

    private static void q8_0Rows(long address, int nr, long rowBytes, float[] xo, int blocks, float[] y, int yo) {
        for (int j = 0; j < nr; j++) y[yo + j] = q8_0(address + j * rowBytes, xo, blocks);
    }

    private static void q4_0Rows(long address, int nr, long rowBytes, float[] xo, int blocks, float[] y, int yo) {
        for (int j = 0; j < nr; j++) y[yo + j] = q4_0(address + j * rowBytes, xo, blocks);
    }

    private static void q4_kRows(long address, int nr, long rowBytes, float[] xo, int blocks, float[] sums, float[] y, int yo) {
        for (int j = 0; j < nr; j++) y[yo + j] = q4_k(address + j * rowBytes, xo, blocks, sums);
    }

    private static void q5_kRows(long address, int nr, long rowBytes, float[] xo, int blocks, float[] sums, float[] y, int yo) {
        for (int j = 0; j < nr; j++) y[yo + j] = q5_k(address + j * rowBytes, xo, blocks, sums);
    }

    private static void q6_kRows(long address, int nr, long rowBytes, float[] xo, int blocks, float[] sums, float[] y, int yo) {
        for (int j = 0; j < nr; j++) y[yo + j] = q6_k(address + j * rowBytes, xo, blocks, sums);
    }

    private static void f16Rows(long address, int nr, long rowBytes, float[] xo, int cols, float[] y, int yo) {
        for (int j = 0; j < nr; j++) y[yo + j] = f16Row(address + j * rowBytes, xo, cols);
    }

    private static void bf16Rows(long address, int nr, long rowBytes, float[] xo, int cols, float[] y, int yo) {
        for (int j = 0; j < nr; j++) y[yo + j] = bf16Row(address + j * rowBytes, xo, cols);
    }

    private static void f32Rows(long address, int nr, long rowBytes, float[] x, int cols, float[] y, int yo) {
        for (int j = 0; j < nr; j++) y[yo + j] = f32Row(address + j * rowBytes, x, cols);
    }

    /** The bytes [address, address + size) as a segment of a class C2 sees exactly (see RowKernels.dotRows). */
    private static MemorySegment view(long address, long size) {
        return MemorySegment.ofAddress(address).reinterpret(size);
    }

    private static float f16(MemorySegment w, long off) {
        return Float.float16ToFloat(w.get(I16, off));
    }

    private static FloatVector xAt(float[] xo, int k) {
        return FloatVector.fromArray(F, xo, k);
    }

    private static FloatVector bc(float v) {
        return FloatVector.broadcast(F, v);
    }

    private static IntVector ints(MemorySegment w, long off) {
        return IntVector.fromMemorySegment(I, w, off, LE);
    }

    private static FloatVector toFloat(IntVector v) {
        return (FloatVector) v.convert(VectorOperators.I2F, 0);
    }

    // The j loops below stay loops in the source on purpose: C2 unrolls them after inlining, while a body
    // written out four times runs past its inlining node budget (NodeCountInliningCutoff), after which the small
    // Vector API helpers are called instead of inlined and every vector is boxed (Q4_K 20x slower).

    /** Byte j (0..3) of every lane, unsigned. */
    private static FloatVector byteAt(IntVector q, int j) {
        return toFloat(q.lanewise(VectorOperators.LSHR, 8 * j).and(0xFF));
    }

    /** Byte j (0..3) of every lane, sign-extended. */
    private static FloatVector signedByteAt(IntVector q, int j) {
        return toFloat(q.lanewise(VectorOperators.LSHL, 24 - 8 * j).lanewise(VectorOperators.ASHR, 24));
    }

    /** The nibble at bit {@code shift} (0, 4, ..., 28) of every lane. */
    private static FloatVector nibbleAt(IntVector q, int shift) {
        return toFloat(q.lanewise(VectorOperators.LSHR, shift).and(0xF));
    }

    /** Q8_0: per block, q*x summed in two chains, then times the block scale. */
    private static float q8_0(long address, float[] xo, int blocks) {
        MemorySegment w = view(address, 34L * blocks);
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++) {
            long o = 34L * b;
            FloatVector p0 = FloatVector.zero(F), p1 = p0;
            for (int c = 0; c < 32; c += 4 * L) {
                IntVector q = ints(w, o + 2 + c);
                int xk = 32 * b + c;
                for (int j = 0; j < 4; j += 2) {
                    p0 = signedByteAt(q, j).fma(xAt(xo, xk + j * L), p0);
                    p1 = signedByteAt(q, j + 1).fma(xAt(xo, xk + (j + 1) * L), p1);
                }
            }
            acc = p0.add(p1).fma(bc(f16(w, o)), acc);
        }
        return FloatLanes.sum(acc);
    }

    /**
     * Q4_0 at 128 bits (its 16 quant bytes are one such vector): w = d*(q-8), so the block's sum is
     * d * (sum q*x - 8 * sum x), the x sum taken lane-wise from the same loads of x.
     */
    private static float q4_0(long address, float[] xo, int blocks) {
        MemorySegment w = view(address, 18L * blocks);
        FloatVector acc = FloatVector.zero(F4);
        int l4 = F4.length();
        for (int b = 0; b < blocks; b++) {
            long o = 18L * b;
            IntVector q = IntVector.fromMemorySegment(I4, w, o + 2, LE);
            int xk = 32 * b;
            FloatVector qx = FloatVector.zero(F4), xs = qx;
            for (int j = 0; j < 4; j++) {
                FloatVector lo = FloatVector.fromArray(F4, xo, xk + j * l4);
                FloatVector hi = FloatVector.fromArray(F4, xo, xk + 16 + j * l4);
                IntVector nl = q.lanewise(VectorOperators.LSHR, 8 * j).and(0xF);
                IntVector nh = q.lanewise(VectorOperators.LSHR, 8 * j + 4).and(0xF);
                qx = ((FloatVector) nl.convert(VectorOperators.I2F, 0)).fma(lo, qx);
                qx = ((FloatVector) nh.convert(VectorOperators.I2F, 0)).fma(hi, qx);
                xs = xs.add(lo).add(hi);
            }
            acc = xs.fma(FloatVector.broadcast(F4, -8f), qx).fma(FloatVector.broadcast(F4, f16(w, o)), acc);
        }
        return FloatLanes.sum(acc);
    }

    /** Q4_K: the 8 six-bit scales and mins as in get_scale_min_k4, one per byte of sc and mn. */
    private static float q4_k(long address, float[] xo, int blocks, float[] xSums) {
        MemorySegment w = view(address, 144L * blocks);
        FloatVector accLo = FloatVector.zero(F), accHi = accLo;
        float mins = 0;
        for (int b = 0; b < blocks; b++) {
            long o = 144L * b;
            int s0 = w.get(I32, o + 4), s1 = w.get(I32, o + 8), s2 = w.get(I32, o + 12);
            long sc = (s0 & 0x3F3F3F3FL) | (long) ((s2 & 0x0F0F0F0F) | ((s0 >>> 2) & 0x30303030)) << 32;
            long mn = (s1 & 0x3F3F3F3FL) | (long) (((s2 >>> 4) & 0x0F0F0F0F) | ((s1 >>> 2) & 0x30303030)) << 32;
            float d = f16(w, o);
            for (int p = 0; p < 4; p++) {
                // Group p: 32 bytes, low nibbles = sub-block 2p, high nibbles = sub-block 2p+1.
                FloatVector lo = FloatVector.zero(F), hi = lo;
                for (int c = 0; c < 32; c += 4 * L) {
                    IntVector q = ints(w, o + 16 + 32 * p + c);
                    int xk = 256 * b + 64 * p + c;
                    for (int j = 0; j < 4; j++) {
                        lo = nibbleAt(q, 8 * j).fma(xAt(xo, xk + j * L), lo);
                        hi = nibbleAt(q, 8 * j + 4).fma(xAt(xo, xk + 32 + j * L), hi);
                    }
                }
                accLo = lo.fma(bc(d * ((int) (sc >>> (16 * p)) & 0xFF)), accLo);
                accHi = hi.fma(bc(d * ((int) (sc >>> (16 * p + 8)) & 0xFF)), accHi);
            }
            mins = Math.fma(f16(w, o + 2), minTerm(mn, xSums, 8 * b), mins);
        }
        return FloatLanes.sum(accLo.add(accHi)) - mins;
    }

    /** sum_j m_j * (sum of x over sub-block j) for the 8 mins packed one per byte in mn. */
    private static float minTerm(long mn, float[] xSums, int s) {
        float t = 0;
        for (int j = 0; j < 8; j++) t = Math.fma((int) (mn >>> (8 * j)) & 0xFF, xSums[s + j], t);
        return t;
    }

    /** Q5_K: Q4_K's layout with a fifth bit per weight in qh (bit 2p for group p's low nibbles, 2p+1 high). */
    private static float q5_k(long address, float[] xo, int blocks, float[] xSums) {
        MemorySegment w = view(address, 176L * blocks);
        FloatVector accLo = FloatVector.zero(F), accHi = accLo;
        float mins = 0;
        for (int b = 0; b < blocks; b++) {
            long o = 176L * b;
            int s0 = w.get(I32, o + 4), s1 = w.get(I32, o + 8), s2 = w.get(I32, o + 12);
            long sc = (s0 & 0x3F3F3F3FL) | (long) ((s2 & 0x0F0F0F0F) | ((s0 >>> 2) & 0x30303030)) << 32;
            long mn = (s1 & 0x3F3F3F3FL) | (long) (((s2 >>> 4) & 0x0F0F0F0F) | ((s1 >>> 2) & 0x30303030)) << 32;
            float d = f16(w, o);
            for (int p = 0; p < 4; p++) {
                FloatVector lo = FloatVector.zero(F), hi = lo;
                for (int c = 0; c < 32; c += 4 * L) {
                    IntVector q = ints(w, o + 48 + 32 * p + c);
                    IntVector h = ints(w, o + 16 + c);
                    IntVector ql = q.and(0x0F0F0F0F).or(h.lanewise(VectorOperators.LSHR, 2 * p).and(0x01010101).lanewise(VectorOperators.LSHL, 4));
                    IntVector qh = q.lanewise(VectorOperators.LSHR, 4).and(0x0F0F0F0F)
                            .or(h.lanewise(VectorOperators.LSHR, 2 * p + 1).and(0x01010101).lanewise(VectorOperators.LSHL, 4));
                    int xk = 256 * b + 64 * p + c;
                    for (int j = 0; j < 4; j++) {
                        lo = byteAt(ql, j).fma(xAt(xo, xk + j * L), lo);
                        hi = byteAt(qh, j).fma(xAt(xo, xk + 32 + j * L), hi);
                    }
                }
                accLo = lo.fma(bc(d * ((int) (sc >>> (16 * p)) & 0xFF)), accLo);
                accHi = hi.fma(bc(d * ((int) (sc >>> (16 * p + 8)) & 0xFF)), accHi);
            }
            mins = Math.fma(f16(w, o + 2), minTerm(mn, xSums, 8 * b), mins);
        }
        return FloatLanes.sum(accLo.add(accHi)) - mins;
    }

    /**
     * Q6_K: the 6-bit values (stored as q+32) assembled in place per byte from ql and qh with 32-bit shifts and
     * masks, for group t of each half block (t = 0: low nibbles of ql[0..31] with qh bits 0-1, t = 1: low
     * nibbles of ql[32..63] with bits 2-3, t = 2 and 3 the high nibbles with bits 4-5 and 6-7). Each lane's sum
     * of (q+32)*x lies in one 16-weight sub-block, so its scale multiplies that sum once; the offset 32 is
     * taken off per block from the sub-block sums of x ({@link #q6Offsets}).
     */
    private static float q6_k(long address, float[] xo, int blocks, float[] xSums16) {
        MemorySegment w = view(address, 210L * blocks);
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++) {
            long o = 210L * b;
            FloatVector d = bc(f16(w, o + 208));
            for (int h = 0; h < 2; h++) {
                FloatVector scales = L == 8
                        ? (FloatVector) ByteVector.fromMemorySegment(B8, w, o + 192 + 8 * h, LE).convertShape(VectorOperators.B2F, F, 0)
                        : null;
                for (int t = 0; t < 4; t++) {
                    for (int c = 0; c < 32; c += 4 * L) {
                        IntVector a = ints(w, o + 64 * h + 32 * (t & 1) + c);
                        IntVector hb = ints(w, o + 128 + 32 * h + c);
                        // Low nibbles for t < 2, high for t >= 2; qh bits 2t..2t+1 of each byte to bits 4-5.
                        IntVector q = a.lanewise(VectorOperators.LSHR, 4 * (t >> 1)).and(0x0F0F0F0F)
                                .or(hb.lanewise(VectorOperators.LSHR, 2 * t).and(0x03030303).lanewise(VectorOperators.LSHL, 4));
                        int xk = 256 * b + 128 * h + 32 * t + c;
                        FloatVector s0 = FloatVector.zero(F), s1 = s0;
                        for (int j = 0; j < 4; j += 2) {
                            s0 = byteAt(q, j).fma(xAt(xo, xk + j * L), s0);
                            s1 = byteAt(q, j + 1).fma(xAt(xo, xk + (j + 1) * L), s1);
                        }
                        FloatVector scale = L == 8 ? scales.rearrange(q6Shuffle(t))
                                : bc(w.get(ValueLayout.JAVA_BYTE, o + 192 + 8 * h + 2 * t + c / 16));
                        acc = s0.add(s1).mul(scale).fma(d, acc);
                    }
                }
            }
        }
        return FloatLanes.sum(q6Offsets(w, blocks, xSums16, acc));
    }

    private static VectorShuffle<Float> q6Shuffle(int t) {
        return switch (t) {
            case 0 -> Q6_SCALES_0;
            case 1 -> Q6_SCALES_1;
            case 2 -> Q6_SCALES_2;
            default -> Q6_SCALES_3;
        };
    }

    /**
     * The stored offset of 32: acc - 32 * d * sum_i sc_i * (sum of x over sub-block i), per block. At 256 bits
     * the 16 scales are widened to two float vectors; at 128 bits they are read as 4 int lanes and sign-extended
     * byte by byte, which is why {@link #prepare} reorders the sub-block sums of x at that width.
     */
    private static FloatVector q6Offsets(MemorySegment w, int blocks, float[] xSums16, FloatVector acc) {
        for (int b = 0; b < blocks; b++) {
            long o = 210L * b;
            FloatVector t;
            if (L == 8) {
                FloatVector lo = (FloatVector) ByteVector.fromMemorySegment(B8, w, o + 192, LE).convertShape(VectorOperators.B2F, F, 0);
                FloatVector hi = (FloatVector) ByteVector.fromMemorySegment(B8, w, o + 200, LE).convertShape(VectorOperators.B2F, F, 0);
                t = lo.mul(xAt(xSums16, 16 * b)).add(hi.mul(xAt(xSums16, 16 * b + 8)));
            } else {
                IntVector s = ints(w, o + 192);
                t = FloatVector.zero(F);
                for (int j = 0; j < 4; j++) t = signedByteAt(s, j).fma(xAt(xSums16, 16 * b + 4 * j), t);
            }
            acc = t.fma(bc(-32f * f16(w, o + 208)), acc);
        }
        return acc;
    }

    /**
     * F16: two halves per int lane, widened in registers with exact integer operations: the magnitude bits
     * shifted into float position and scaled by 2^112 (exponent bias 15 to 127, which also normalises subnormal
     * halves exactly), infinities and NaNs given the float's all-ones exponent instead, the sign bit copied.
     */
    private static float f16Row(long address, float[] xo, int cols) {
        MemorySegment w = view(address, 2L * cols);
        FloatVector a0 = FloatVector.zero(F), a1 = a0;
        int k = 0;
        for (; k + 2 * L <= cols; k += 2 * L) {
            IntVector v = ints(w, 2L * k);
            a0 = f16Bits(v.lanewise(VectorOperators.LSHL, 13).and(0x7FFF << 13), v.lanewise(VectorOperators.LSHL, 16))
                    .fma(xAt(xo, k), a0);
            a1 = f16Bits(v.lanewise(VectorOperators.LSHR, 3).and(0x7FFF << 13), v).fma(xAt(xo, k + L), a1);
        }
        float sum = FloatLanes.sum(a0.add(a1));
        for (; k < cols; k++) sum = Math.fma(f16(w, 2L * k), xo[k], sum);
        return sum;
    }

    /** The float of a half whose magnitude bits stand at bits 13-27 and whose sign bit is bit 31 of signBits. */
    private static FloatVector f16Bits(IntVector magnitude, IntVector signBits) {
        IntVector scaled = ((FloatVector) magnitude.reinterpretAsFloats()).mul(0x1p112f).reinterpretAsInts();
        IntVector special = magnitude.add(0x70000000);
        return scaled.blend(special, magnitude.compare(VectorOperators.GE, 0x7C00 << 13))
                .or(signBits.and(0x80000000)).reinterpretAsFloats();
    }

    /** BF16: the upper 16 bits of a float, so a shift (even elements) or a mask (odd) makes it one. */
    private static float bf16Row(long address, float[] xo, int cols) {
        MemorySegment w = view(address, 2L * cols);
        FloatVector a0 = FloatVector.zero(F), a1 = a0;
        int k = 0;
        for (; k + 2 * L <= cols; k += 2 * L) {
            IntVector v = ints(w, 2L * k);
            a0 = v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(xAt(xo, k), a0);
            a1 = v.and(0xFFFF0000).reinterpretAsFloats().fma(xAt(xo, k + L), a1);
        }
        float sum = FloatLanes.sum(a0.add(a1));
        for (; k < cols; k++) sum = Math.fma(Float.intBitsToFloat((w.get(I16, 2L * k) & 0xFFFF) << 16), xo[k], sum);
        return sum;
    }

    /** F32: four FMA chains (one would wait on the FMA latency), then a scalar tail. */
    private static float f32Row(long address, float[] x, int cols) {
        MemorySegment w = view(address, 4L * cols);
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        int k = 0;
        for (; k + 4 * L <= cols; k += 4 * L) {
            a0 = FloatVector.fromMemorySegment(F, w, 4L * k, LE).fma(xAt(x, k), a0);
            a1 = FloatVector.fromMemorySegment(F, w, 4L * (k + L), LE).fma(xAt(x, k + L), a1);
            a2 = FloatVector.fromMemorySegment(F, w, 4L * (k + 2 * L), LE).fma(xAt(x, k + 2 * L), a2);
            a3 = FloatVector.fromMemorySegment(F, w, 4L * (k + 3 * L), LE).fma(xAt(x, k + 3 * L), a3);
        }
        for (; k + L <= cols; k += L) a0 = FloatVector.fromMemorySegment(F, w, 4L * k, LE).fma(xAt(x, k), a0);
        float sum = FloatLanes.sum(a0.add(a1).add(a2.add(a3)));
        for (; k < cols; k++) sum = Math.fma(w.get(F32, 4L * k), x[k], sum);
        return sum;
    }
}
