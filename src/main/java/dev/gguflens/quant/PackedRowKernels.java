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
    static final VectorSpecies<Integer> I = L == 8 ? IntVector.SPECIES_256 : IntVector.SPECIES_128;
    /** The 8 sub-block scales of one Q6_K half block (8 bytes), widened to 8 floats at 256 bits. */
    private static final VectorSpecies<Byte> B8 = ByteVector.SPECIES_64;
    /** Where the machine has vectors of 128 bits or more (below that, the tiled path is faster). */
    static final boolean ENABLED = FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 128
            && !Boolean.getBoolean("gguflens.quant.scalar");
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(LE);
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

    /** x as the type's kernel reads it (the types with their own class prepare it there). */
    static RowKernels.Prepared prepare(GgmlType t, float[] x, int cols) {
        switch (t) {
            case Q8_0: return Q8_0Rows.prepare(x, cols);
            case Q4_0: return Q4_0Rows.prepare(x, cols);
            case F16: return F16Rows.prepare(x, cols);
            case BF16: return BF16Rows.prepare(x, cols);
            case F32: return F32Rows.prepare(x, cols);
            default: break;
        }
        return prepareMasked(t, x, cols, L);
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
    private static int normalisingExponent(float[] x, int cols) {
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
            case Q4_K -> q4_kRows(address, nr, rowBytes, xo, cols / 256, p.exponent(), p.xSums(), y, yo);
            case Q5_K -> q5_kRows(address, nr, rowBytes, xo, cols / 256, p.exponent(), p.xSums(), y, yo);
            case Q6_K -> q6_kRows(address, nr, rowBytes, xo, cols / 256, p.exponent(), p.xSums(), y, yo);
            case F16 -> F16Rows.rows(address, nr, rowBytes, xo, cols, y, yo);
            case BF16 -> BF16Rows.rows(address, nr, rowBytes, xo, cols, y, yo);
            case F32 -> F32Rows.rows(address, nr, rowBytes, xo, cols, y, yo);
            default -> throw new IllegalArgumentException("no row kernel for " + t);
        }
    }

    private static void q4_kRows(long address, int nr, long rowBytes, float[] xo, int blocks, int exponent, float[] sums, float[] y, int yo) {
        float[] lanes = new float[L];
        for (int j = 0; j < nr; j++) y[yo + j] = Math.scalb(q4_k(address + j * rowBytes, xo, blocks, sums, lanes), -exponent);
    }

    private static void q5_kRows(long address, int nr, long rowBytes, float[] xo, int blocks, int exponent, float[] sums, float[] y, int yo) {
        float[] lanes = new float[L];
        for (int j = 0; j < nr; j++) y[yo + j] = Math.scalb(q5_k(address + j * rowBytes, xo, blocks, sums, lanes), -exponent);
    }

    private static void q6_kRows(long address, int nr, long rowBytes, float[] xo, int blocks, int exponent, float[] sums, float[] y, int yo) {
        float[] lanes = new float[L];
        for (int j = 0; j < nr; j++) y[yo + j] = Math.scalb(q6_k(address + j * rowBytes, xo, blocks, sums, lanes), -exponent);
    }

    /** The bytes [address, address + size) as a segment of a class C2 sees exactly (see RowKernels.dotRows). */
    static MemorySegment view(long address, long size) {
        return MemorySegment.ofAddress(address).reinterpret(size);
    }

    static float f16(MemorySegment w, long off) {
        return Float.float16ToFloat(w.get(I16, off));
    }

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

    /** Q4_K: the 8 six-bit scales and mins as in get_scale_min_k4, one per byte of sc and mn. */
    private static float q4_k(long address, float[] xo, int blocks, float[] xSums, float[] lanes) {
        MemorySegment w = view(address, 144L * blocks);
        FloatVector accLo = FloatVector.zero(F), accHi = accLo, accMin = accLo;
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
                    IntVector q = IntVector.fromMemorySegment(I, w, o + 16 + 32 * p + c, LE), q4 = q.lanewise(VectorOperators.LSHR, 4);
                    int xk = 256 * b + 64 * p + c;
                    for (int j = 0; j < 4; j++) {
                        lo = ((FloatVector) q.and(0xF << (8 * j)).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xo, xk + j * L), lo);
                        hi = ((FloatVector) q4.and(0xF << (8 * j)).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xo, xk + 32 + j * L), hi);
                    }
                }
                accLo = lo.fma(FloatVector.broadcast(F, d * ((int) (sc >>> (16 * p)) & 0xFF)), accLo);
                accHi = hi.fma(FloatVector.broadcast(F, d * ((int) (sc >>> (16 * p + 8)) & 0xFF)), accHi);
            }
            if (L == 8) {
                // The 8 mins as floats times the 8 sub-block sums of x, lane-wise.
                ByteVector m = IntVector.zero(IntVector.SPECIES_64).withLane(0, (int) mn).withLane(1, (int) (mn >>> 32)).reinterpretAsBytes();
                accMin = ((FloatVector) m.convertShape(VectorOperators.B2F, F, 0)).mul(FloatVector.fromArray(F, xSums, 8 * b))
                        .fma(FloatVector.broadcast(F, f16(w, o + 2)), accMin);
            }
            else mins = Math.fma(f16(w, o + 2), minTerm(mn, xSums, 8 * b), mins);
        }
        accLo.add(accHi).sub(accMin).intoArray(lanes, 0);
        return laneSum(lanes, L) - mins;
    }

    /** sum_j m_j * (sum of x over sub-block j) for the 8 mins packed one per byte in mn. */
    private static float minTerm(long mn, float[] xSums, int s) {
        float t = 0;
        for (int j = 0; j < 8; j++) t = Math.fma((int) (mn >>> (8 * j)) & 0xFF, xSums[s + j], t);
        return t;
    }

    /** Q5_K: Q4_K's layout with a fifth bit per weight in qh (bit 2p for group p's low nibbles, 2p+1 high). */
    private static float q5_k(long address, float[] xo, int blocks, float[] xSums, float[] lanes) {
        MemorySegment w = view(address, 176L * blocks);
        FloatVector accLo = FloatVector.zero(F), accHi = accLo, accMin = accLo;
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
                    IntVector q = IntVector.fromMemorySegment(I, w, o + 48 + 32 * p + c, LE);
                    IntVector h = IntVector.fromMemorySegment(I, w, o + 16 + c, LE);
                    IntVector ql = q.and(0x0F0F0F0F).or(h.lanewise(VectorOperators.LSHR, 2 * p).and(0x01010101).lanewise(VectorOperators.LSHL, 4));
                    IntVector qh = q.lanewise(VectorOperators.LSHR, 4).and(0x0F0F0F0F)
                            .or(h.lanewise(VectorOperators.LSHR, 2 * p + 1).and(0x01010101).lanewise(VectorOperators.LSHL, 4));
                    int xk = 256 * b + 64 * p + c;
                    for (int j = 0; j < 4; j++) {
                        lo = ((FloatVector) ql.and(0xFF << (8 * j)).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xo, xk + j * L), lo);
                        hi = ((FloatVector) qh.and(0xFF << (8 * j)).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xo, xk + 32 + j * L), hi);
                    }
                }
                accLo = lo.fma(FloatVector.broadcast(F, d * ((int) (sc >>> (16 * p)) & 0xFF)), accLo);
                accHi = hi.fma(FloatVector.broadcast(F, d * ((int) (sc >>> (16 * p + 8)) & 0xFF)), accHi);
            }
            if (L == 8) {
                // The 8 mins as floats times the 8 sub-block sums of x, lane-wise.
                ByteVector m = IntVector.zero(IntVector.SPECIES_64).withLane(0, (int) mn).withLane(1, (int) (mn >>> 32)).reinterpretAsBytes();
                accMin = ((FloatVector) m.convertShape(VectorOperators.B2F, F, 0)).mul(FloatVector.fromArray(F, xSums, 8 * b))
                        .fma(FloatVector.broadcast(F, f16(w, o + 2)), accMin);
            }
            else mins = Math.fma(f16(w, o + 2), minTerm(mn, xSums, 8 * b), mins);
        }
        accLo.add(accHi).sub(accMin).intoArray(lanes, 0);
        return laneSum(lanes, L) - mins;
    }

    /**
     * Q6_K: the 6-bit values (stored as q+32) assembled in place per byte from ql and qh with 32-bit shifts and
     * masks, for group t of each half block (t = 0: low nibbles of ql[0..31] with qh bits 0-1, t = 1: low
     * nibbles of ql[32..63] with bits 2-3, t = 2 and 3 the high nibbles with bits 4-5 and 6-7). Each lane's sum
     * of (q+32)*x lies in one 16-weight sub-block, so its scale (times the block's d) multiplies that sum once;
     * the offset 32 is taken off per block from the sub-block sums of x ({@link #q6Offsets}). Two accumulators:
     * with a single one, its FMA chain (4 cycles a step, 8 or 16 steps per block) bounded the kernel.
     */
    private static float q6_k(long address, float[] xo, int blocks, float[] xSums16, float[] lanes) {
        // Partial sums pass between the two loops through lanes: a vector returned from a method that is not
        // inlined is boxed, and C2 then allocated that box on every iteration of the loop that produced it.
        if (L == 8) q6_k8(address, xo, blocks, lanes);
        else q6_k4(address, xo, blocks, lanes);
        q6Offsets(address, blocks, xSums16, lanes);
        return laneSum(lanes, L);
    }

    /**
     * Q6_K at 256 bits: a 32-byte chunk spans two sub-blocks, so the scale vector (lanes 0-3 sub-block 2t,
     * lanes 4-7 sub-block 2t+1) is a permutation of the half block's 8 scales, widened once per half. The four
     * groups of a half run one after another, each to the end of its FMA chain, into two accumulators: with all
     * four interleaved (4 partial sums, 4 assembled quant vectors, 4 accumulators and the byte masks live at
     * once) C2 spilled to the stack on AVX2's 16 registers; this order was 1.2x faster there (L2-resident rows).
     */
    private static void q6_k8(long address, float[] xo, int blocks, float[] lanes) {
        MemorySegment w = view(address, 210L * blocks);
        FloatVector accA = FloatVector.zero(F), accB = accA;
        for (int b = 0; b < blocks; b++) {
            long o = 210L * b;
            FloatVector d = FloatVector.broadcast(F, f16(w, o + 208));
            for (int h = 0; h < 2; h++) {
                FloatVector scales = ((FloatVector) ByteVector.fromMemorySegment(B8, w, o + 192 + 8 * h, LE)
                        .convertShape(VectorOperators.B2F, F, 0)).mul(d);
                // ql bytes 0..31 serve groups 0 and 2 (low and high nibbles), bytes 32..63 groups 1 and 3; qh bits
                // 2t..2t+1 of each byte go to bits 4-5.
                IntVector a = IntVector.fromMemorySegment(I, w, o + 64 * h, LE);
                IntVector hb = IntVector.fromMemorySegment(I, w, o + 128 + 32 * h, LE);
                int xk = 256 * b + 128 * h;
                IntVector q = a.and(0x0F0F0F0F).or(hb.lanewise(VectorOperators.LSHL, 4).and(0x30303030));
                FloatVector s = ((FloatVector) q.and(0xFF).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromArray(F, xo, xk));
                for (int j = 1; j < 4; j++) s = ((FloatVector) q.and(0xFF << (8 * j)).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xo, xk + j * L), s);
                accA = s.fma(scales.rearrange(Q6_SCALES_0), accA);
                q = a.lanewise(VectorOperators.LSHR, 4).and(0x0F0F0F0F).or(hb.and(0x30303030));
                s = ((FloatVector) q.and(0xFF).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromArray(F, xo, xk + 64));
                for (int j = 1; j < 4; j++) s = ((FloatVector) q.and(0xFF << (8 * j)).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xo, xk + 64 + j * L), s);
                accA = s.fma(scales.rearrange(Q6_SCALES_2), accA);
                IntVector a32 = IntVector.fromMemorySegment(I, w, o + 64 * h + 32, LE);
                q = a32.and(0x0F0F0F0F).or(hb.lanewise(VectorOperators.LSHL, 2).and(0x30303030));
                s = ((FloatVector) q.and(0xFF).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromArray(F, xo, xk + 32));
                for (int j = 1; j < 4; j++) s = ((FloatVector) q.and(0xFF << (8 * j)).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xo, xk + 32 + j * L), s);
                accB = s.fma(scales.rearrange(Q6_SCALES_1), accB);
                q = a32.lanewise(VectorOperators.LSHR, 4).and(0x0F0F0F0F).or(hb.lanewise(VectorOperators.LSHR, 2).and(0x30303030));
                s = ((FloatVector) q.and(0xFF).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromArray(F, xo, xk + 96));
                for (int j = 1; j < 4; j++) s = ((FloatVector) q.and(0xFF << (8 * j)).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xo, xk + 96 + j * L), s);
                accB = s.fma(scales.rearrange(Q6_SCALES_3), accB);
            }
        }
        accA.add(accB).intoArray(lanes, 0);
    }

    /**
     * Q6_K at 128 bits: a 16-byte chunk is one sub-block, whose scale (times d) is broadcast. Groups run one
     * after another into two accumulators, as in {@link #q6_k8} (1.4x faster than interleaving the four).
     */
    private static void q6_k4(long address, float[] xo, int blocks, float[] lanes) {
        MemorySegment w = view(address, 210L * blocks);
        FloatVector accA = FloatVector.zero(F), accB = accA;
        for (int b = 0; b < blocks; b++) {
            long o = 210L * b;
            float d = f16(w, o + 208);
            for (int c = 0; c < 64; c += 16) {
                // c < 32: half 0; else half 1 (bytes 64.. of ql, 32.. of qh, scales 8..).
                long ql = o + 32 * (c >> 5) + c, qh = o + 128 + c;
                IntVector a = IntVector.fromMemorySegment(I, w, ql, LE);
                IntVector hb = IntVector.fromMemorySegment(I, w, qh, LE);
                int xk = 256 * b + 128 * (c >> 5) + (c & 31);
                // Sub-block of group t in this chunk: 8 * half + 2t + (c % 32) / 16.
                long sc = o + 192 + 8 * (c >> 5) + ((c & 31) >> 4);
                IntVector q = a.and(0x0F0F0F0F).or(hb.lanewise(VectorOperators.LSHL, 4).and(0x30303030));
                FloatVector s = ((FloatVector) q.and(0xFF).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromArray(F, xo, xk));
                for (int j = 1; j < 4; j++) s = ((FloatVector) q.and(0xFF << (8 * j)).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xo, xk + j * L), s);
                accA = s.fma(FloatVector.broadcast(F, d * w.get(ValueLayout.JAVA_BYTE, sc)), accA);
                q = a.lanewise(VectorOperators.LSHR, 4).and(0x0F0F0F0F).or(hb.and(0x30303030));
                s = ((FloatVector) q.and(0xFF).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromArray(F, xo, xk + 64));
                for (int j = 1; j < 4; j++) s = ((FloatVector) q.and(0xFF << (8 * j)).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xo, xk + 64 + j * L), s);
                accA = s.fma(FloatVector.broadcast(F, d * w.get(ValueLayout.JAVA_BYTE, sc + 4)), accA);
                IntVector a32 = IntVector.fromMemorySegment(I, w, ql + 32, LE);
                q = a32.and(0x0F0F0F0F).or(hb.lanewise(VectorOperators.LSHL, 2).and(0x30303030));
                s = ((FloatVector) q.and(0xFF).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromArray(F, xo, xk + 32));
                for (int j = 1; j < 4; j++) s = ((FloatVector) q.and(0xFF << (8 * j)).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xo, xk + 32 + j * L), s);
                accB = s.fma(FloatVector.broadcast(F, d * w.get(ValueLayout.JAVA_BYTE, sc + 2)), accB);
                q = a32.lanewise(VectorOperators.LSHR, 4).and(0x0F0F0F0F).or(hb.lanewise(VectorOperators.LSHR, 2).and(0x30303030));
                s = ((FloatVector) q.and(0xFF).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromArray(F, xo, xk + 96));
                for (int j = 1; j < 4; j++) s = ((FloatVector) q.and(0xFF << (8 * j)).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xo, xk + 96 + j * L), s);
                accB = s.fma(FloatVector.broadcast(F, d * w.get(ValueLayout.JAVA_BYTE, sc + 6)), accB);
            }
        }
        accA.add(accB).intoArray(lanes, 0);
    }

    /**
     * lanes += the stored offset of 32: -32 * d * sum_i sc_i * (sum of x over sub-block i), per block. At 256 bits
     * the 16 scales are widened to two float vectors; at 128 bits they are read as 4 int lanes and sign-extended
     * byte by byte, which is why {@link #prepare} reorders the sub-block sums of x at that width.
     */
    private static void q6Offsets(long address, int blocks, float[] xSums16, float[] lanes) {
        // Its own view: a segment passed in would leave C2 to a shared, polluted type profile (see RowKernels.dotRows).
        MemorySegment w = view(address, 210L * blocks);
        FloatVector acc = FloatVector.fromArray(F, lanes, 0);
        for (int b = 0; b < blocks; b++) {
            long o = 210L * b;
            FloatVector t;
            if (L == 8) {
                FloatVector lo = (FloatVector) ByteVector.fromMemorySegment(B8, w, o + 192, LE).convertShape(VectorOperators.B2F, F, 0);
                FloatVector hi = (FloatVector) ByteVector.fromMemorySegment(B8, w, o + 200, LE).convertShape(VectorOperators.B2F, F, 0);
                t = lo.mul(FloatVector.fromArray(F, xSums16, 16 * b)).add(hi.mul(FloatVector.fromArray(F, xSums16, 16 * b + 8)));
            } else {
                IntVector s = IntVector.fromMemorySegment(I, w, o + 192, LE);
                t = FloatVector.zero(F);
                for (int j = 0; j < 4; j++) t = ((FloatVector) s.lanewise(VectorOperators.LSHL, 24 - 8 * j).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xSums16, 16 * b + 4 * j), t);
            }
            acc = t.fma(FloatVector.broadcast(F, -32f * f16(w, o + 208)), acc);
        }
        acc.intoArray(lanes, 0);
    }

}
