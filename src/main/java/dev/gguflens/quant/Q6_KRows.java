package dev.gguflens.quant;

import static dev.gguflens.quant.PackedRowKernels.F;
import static dev.gguflens.quant.PackedRowKernels.I;
import static dev.gguflens.quant.PackedRowKernels.I16;
import static dev.gguflens.quant.PackedRowKernels.L;
import static dev.gguflens.quant.PackedRowKernels.LE;
import static dev.gguflens.quant.PackedRowKernels.UNCUT;
import static dev.gguflens.quant.PackedRowKernels.laneSum;
import static dev.gguflens.quant.PackedRowKernels.view;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Q6_K's m = 1 row kernel (super-blocks of 256 six-bit weights, 16 eight-bit scales): the packed int-lane layout of
 * {@link PackedRowKernels}; the 6-bit values are assembled in place in the bytes of each int lane, and byte j of every
 * lane is then shifted down and masked (byte 3: shifted only), so the kernel needs one byte mask, 0xFF, where the
 * in-place masks of the other sub-byte types need four: on AVX2's 16 registers C2 reloaded those masks with a
 * broadcast at every use (48 per block at 256 bits, now 16). That costs two shifts more per 32 weights.
 */
final class Q6_KRows {
    /** The 8 sub-block scales of one Q6_K half block (8 bytes), widened to 8 floats at 256 bits. */
    private static final VectorSpecies<Byte> B8 = ByteVector.SPECIES_64;
    /**
     * At 256 bits a 32-byte Q6_K chunk spans two 16-weight sub-blocks: lanes 0-3 take scale 2t, lanes 4-7
     * scale 2t+1 of the half block's 8 scales (t = the chunk's 32-weight group).
     */
    private static final VectorShuffle<Float> Q6_SCALES_0 = q6Scales(0), Q6_SCALES_1 = q6Scales(1),
            Q6_SCALES_2 = q6Scales(2), Q6_SCALES_3 = q6Scales(3);

    private static VectorShuffle<Float> q6Scales(int t) {
        int[] idx = new int[L];
        for (int i = 0; i < L; i++) idx[i] = Math.min(7, 2 * t + i / 4);
        return VectorShuffle.fromArray(F, idx, 0);
    }

    /**
     * Q6_K's lane count: 16 where the machine has 512-bit vectors ({@link #q6_k16}), else PackedRowKernels' 8 or 4.
     * At 512 bits one load takes a 64-byte run of ql, two 32-weight groups whose 6-bit values share qh's 32 bytes,
     * so the block needs half the vector operations of 256 bits. On an AVX-512 Xeon (Emerald Rapids, 2 vCPUs),
     * 151936 x 4096 on two threads, alternating processes: 39.0-39.6 ms against 46.4-51.0 for {@link #q6_k8}
     * (Java/ggml 1.19-1.22 against 1.38-1.45).
     */
    static final int QL = FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 512 ? 16 : L;
    private static final VectorSpecies<Float> F512 = FloatVector.SPECIES_512;
    private static final VectorSpecies<Integer> I512 = IntVector.SPECIES_512;
    /** A block's 16 scales, widened to 16 floats at 512 bits. */
    private static final VectorSpecies<Byte> B16 = ByteVector.SPECIES_128;
    /**
     * At 512 bits lanes 0-7 hold ql[0..31] of a half block (groups 0 and 2: low and high nibbles), lanes 8-15
     * ql[32..63] (groups 1 and 3); both halves of the vector take the same 32 bytes of qh, whose bit pair 2t..2t+1
     * goes to bits 4-5 of each byte: left by 4 (group 0) and 2 (group 1) for the low nibbles, right by 0 (group 2)
     * and 2 (group 3) for the high ones.
     */
    private static final IntVector QH_LOW_SHIFTS = IntVector.fromArray(I512, new int[] {4, 4, 4, 4, 4, 4, 4, 4, 2, 2, 2, 2, 2, 2, 2, 2}, 0);
    private static final IntVector QH_HIGH_SHIFTS = IntVector.fromArray(I512, new int[] {0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 2, 2}, 0);
    /** qh's 32 bytes of half block h (int lanes 8h..8h+7 of the block's 64) in both halves of a 512-bit vector. */
    private static final VectorShuffle<Integer> QH_HALF_0 = qhHalf(0), QH_HALF_1 = qhHalf(1);
    /**
     * At 512 bits each run of 64 weights spans 4 sub-blocks, 4 lanes each: lane i of pass p (0: low nibbles, 1: high)
     * of half h takes the block's scale 8h + 4p + i/4.
     */
    private static final VectorShuffle<Float> SCALES_00 = scales16(0, 0), SCALES_01 = scales16(0, 1),
            SCALES_10 = scales16(1, 0), SCALES_11 = scales16(1, 1);

    private static VectorShuffle<Integer> qhHalf(int h) {
        int[] idx = new int[16];
        for (int i = 0; i < 16; i++) idx[i] = 8 * h + i % 8;
        return VectorShuffle.fromArray(I512, idx, 0);
    }

    private static VectorShuffle<Float> scales16(int h, int pass) {
        int[] idx = new int[16];
        for (int i = 0; i < 16; i++) idx[i] = 8 * h + 4 * pass + i / 4;
        return VectorShuffle.fromArray(F512, idx, 0);
    }

    private Q6_KRows() {
    }

    /**
     * x in the order the kernel reads it (PackedRowKernels.interleave, 4 bytes per int lane), scaled by the power of two
     * 2^exponent that puts its largest magnitude in [1, 2), as for the other sub-byte types, so that no partial sum is
     * subnormal; unlike theirs, x is not also scaled per byte position, as this kernel shifts each byte down before
     * converting it. With the sub-block sums of x for the offset pass (reordered at 128 bits, where that pass reads
     * the 16 scales as packed int lanes too); the ordered x also in native memory, which the kernels read.
     */
    static RowKernels.Prepared prepare(float[] x, int cols) {
        int exponent = PackedRowKernels.normalisingExponent(x, cols);
        float[] xs = x;
        if (exponent != 0) {
            xs = new float[cols];
            for (int k = 0; k < cols; k++) xs[k] = Math.scalb(x[k], exponent);
        }
        float[] sums = PackedRowKernels.subBlockSums(xs, cols, 16);
        return new RowKernels.Prepared(QL == 4 ? PackedRowKernels.interleave(sums, cols / 16, 4, 4) : sums,
                PackedRowKernels.interleave(xs, cols, 4, QL), exponent).withNativeX();
    }

    static void rows(long address, int nr, long rowBytes, RowKernels.Prepared p, int blocks, float[] y, int yo) {
        float[] lanes = new float[QL];
        int exponent = p.exponent();
        for (int j = 0; j < nr; j++) y[yo + j] = Math.scalb(q6_k(address + j * rowBytes, p, blocks, lanes), -exponent);
    }

    /**
     * Q6_K: the 6-bit values (stored as q+32) assembled in place per byte from ql and qh with 32-bit shifts and
     * masks, for group t of each half block (t = 0: low nibbles of ql[0..31] with qh bits 0-1, t = 1: low
     * nibbles of ql[32..63] with bits 2-3, t = 2 and 3 the high nibbles with bits 4-5 and 6-7). Each lane's sum
     * of (q+32)*x lies in one 16-weight sub-block, so its scale (times the block's d) multiplies that sum once;
     * the offset 32 is taken off per block from the sub-block sums of x ({@link #q6Offsets}). Two accumulators:
     * with a single one, its FMA chain (4 cycles a step, 8 or 16 steps per block) bounded the kernel.
     */
    private static float q6_k(long address, RowKernels.Prepared p, int blocks, float[] lanes) {
        // Partial sums pass between the two loops through lanes: a vector returned from a method that is not
        // inlined is boxed, and C2 then allocated that box on every iteration of the loop that produced it.
        if (QL == 16) {
            q6_k16(address, p.xOrderedNative().address(), blocks, lanes);
            q6Offsets16(address, blocks, p.xSums(), lanes);
        } else {
            if (L == 8) q6_k8(address, p.xOrderedNative().address(), blocks, lanes);
            else q6_k4(address, p.xOrderedNative().address(), blocks, lanes);
            q6Offsets(address, blocks, p.xSums(), lanes);
        }
        return laneSum(lanes, QL);
    }

    /**
     * Q6_K at 512 bits: per half block two passes (low nibbles: groups 0 and 1, high nibbles: groups 2 and 3), each a
     * 64-weight run of 16 int lanes whose 4-lane quarters are the 4 sub-blocks of the run, so the scale vector is a
     * permutation of the block's 16 scales (times d), widened once per block. Otherwise as {@link #q6_k8}.
     */
    private static void q6_k16(long address, long xAddress, int blocks, float[] lanes) {
        MemorySegment w = view(address, UNCUT), xs = view(xAddress, UNCUT);
        FloatVector accA = FloatVector.zero(F512), accB = accA;
        for (int b = 0; b < blocks; b++) {
            long o = 210L * b;
            FloatVector scales = ((FloatVector) ByteVector.fromMemorySegment(B16, w, o + 192, LE)
                    .convertShape(VectorOperators.B2F, F512, 0)).mul(Float.float16ToFloat(w.get(I16, o + 208)));
            IntVector qh = IntVector.fromMemorySegment(I512, w, o + 128, LE);
            for (int h = 0; h < 2; h++) {
                IntVector a = IntVector.fromMemorySegment(I512, w, o + 64 * h, LE);
                IntVector hb = qh.rearrange(h == 0 ? QH_HALF_0 : QH_HALF_1);
                // x's byte offset of the half's first run, in long arithmetic (see q6_k8).
                long xk = 1024L * b + 512L * h;
                IntVector q = a.and(0x0F0F0F0F).or(hb.lanewise(VectorOperators.LSHL, QH_LOW_SHIFTS).and(0x30303030));
                FloatVector s = ((FloatVector) q.and(0xFF).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromMemorySegment(F512, xs, xk, LE));
                for (int j = 1; j < 3; j++) s = ((FloatVector) q.lanewise(VectorOperators.LSHR, 8 * j).and(0xFF).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromMemorySegment(F512, xs, xk + 64 * j, LE), s);
                s = ((FloatVector) q.lanewise(VectorOperators.LSHR, 24).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromMemorySegment(F512, xs, xk + 192, LE), s);
                accA = s.fma(scales.rearrange(h == 0 ? SCALES_00 : SCALES_10), accA);
                q = a.lanewise(VectorOperators.LSHR, 4).and(0x0F0F0F0F).or(hb.lanewise(VectorOperators.LSHR, QH_HIGH_SHIFTS).and(0x30303030));
                s = ((FloatVector) q.and(0xFF).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromMemorySegment(F512, xs, xk + 256, LE));
                for (int j = 1; j < 3; j++) s = ((FloatVector) q.lanewise(VectorOperators.LSHR, 8 * j).and(0xFF).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromMemorySegment(F512, xs, xk + 256 + 64 * j, LE), s);
                s = ((FloatVector) q.lanewise(VectorOperators.LSHR, 24).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromMemorySegment(F512, xs, xk + 448, LE), s);
                accB = s.fma(scales.rearrange(h == 0 ? SCALES_01 : SCALES_11), accB);
            }
        }
        accA.add(accB).intoArray(lanes, 0);
    }

    /**
     * Q6_K at 256 bits: a 32-byte chunk spans two sub-blocks, so the scale vector (lanes 0-3 sub-block 2t,
     * lanes 4-7 sub-block 2t+1) is a permutation of the half block's 8 scales, widened once per half. The four
     * groups of a half run one after another, each to the end of its FMA chain, into two accumulators: with all
     * four interleaved (4 partial sums, 4 assembled quant vectors, 4 accumulators and the byte masks live at
     * once) C2 spilled to the stack on AVX2's 16 registers; this order was 1.2x faster there (L2-resident rows).
     * Block by block, one pass over the row in order, with x read from native memory (the ordered x at
     * xAddress) through a segment of unbounded size: no bounds check on x or the weights in the loop. The
     * loop it replaced read x from an array and ran the half as the outer loop, so that C2 could drop x's bounds
     * checks, at the price of two passes over each row: 151936 x 4096 on two AVX2 threads, one process, 55-59
     * against 83-91 ms (ggml 33; a disturbed VM), rows in L2 on one thread 39 against 54 ns per block. The sums
     * now alternate between the halves of each block, so the last bits differ from that loop's.
     */
    private static void q6_k8(long address, long xAddress, int blocks, float[] lanes) {
        MemorySegment w = view(address, UNCUT), xs = view(xAddress, UNCUT);
        FloatVector accA = FloatVector.zero(F), accB = accA;
        for (int b = 0; b < blocks; b++) {
            long o = 210L * b;
            FloatVector d = FloatVector.broadcast(F, Float.float16ToFloat(w.get(I16, o + 208)));
            for (int h = 0; h < 2; h++) {
                FloatVector scales = ((FloatVector) ByteVector.fromMemorySegment(B8, w, o + 192 + 8 * h, LE)
                        .convertShape(VectorOperators.B2F, F, 0)).mul(d);
                // ql bytes 0..31 serve groups 0 and 2 (low and high nibbles), bytes 32..63 groups 1 and 3; qh bits
                // 2t..2t+1 of each byte go to bits 4-5. x's byte offsets in long arithmetic from the start (from an
                // int product C2 could not prove them below the segment's bound).
                IntVector a = IntVector.fromMemorySegment(I, w, o + 64 * h, LE);
                IntVector hb = IntVector.fromMemorySegment(I, w, o + 128 + 32 * h, LE);
                long xk = 1024L * b + 512L * h;
                IntVector q = a.and(0x0F0F0F0F).or(hb.lanewise(VectorOperators.LSHL, 4).and(0x30303030));
                FloatVector s = ((FloatVector) q.and(0xFF).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromMemorySegment(F, xs, xk, LE));
                for (int j = 1; j < 3; j++) s = ((FloatVector) q.lanewise(VectorOperators.LSHR, 8 * j).and(0xFF).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromMemorySegment(F, xs, xk + 4 * j * L, LE), s);
                s = ((FloatVector) q.lanewise(VectorOperators.LSHR, 24).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromMemorySegment(F, xs, xk + 12 * L, LE), s);
                accA = s.fma(scales.rearrange(Q6_SCALES_0), accA);
                q = a.lanewise(VectorOperators.LSHR, 4).and(0x0F0F0F0F).or(hb.and(0x30303030));
                s = ((FloatVector) q.and(0xFF).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromMemorySegment(F, xs, xk + 256, LE));
                for (int j = 1; j < 3; j++) s = ((FloatVector) q.lanewise(VectorOperators.LSHR, 8 * j).and(0xFF).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromMemorySegment(F, xs, xk + 256 + 4 * j * L, LE), s);
                s = ((FloatVector) q.lanewise(VectorOperators.LSHR, 24).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromMemorySegment(F, xs, xk + 256 + 12 * L, LE), s);
                accA = s.fma(scales.rearrange(Q6_SCALES_2), accA);
                IntVector a32 = IntVector.fromMemorySegment(I, w, o + 64 * h + 32, LE);
                q = a32.and(0x0F0F0F0F).or(hb.lanewise(VectorOperators.LSHL, 2).and(0x30303030));
                s = ((FloatVector) q.and(0xFF).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromMemorySegment(F, xs, xk + 128, LE));
                for (int j = 1; j < 3; j++) s = ((FloatVector) q.lanewise(VectorOperators.LSHR, 8 * j).and(0xFF).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromMemorySegment(F, xs, xk + 128 + 4 * j * L, LE), s);
                s = ((FloatVector) q.lanewise(VectorOperators.LSHR, 24).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromMemorySegment(F, xs, xk + 128 + 12 * L, LE), s);
                accB = s.fma(scales.rearrange(Q6_SCALES_1), accB);
                q = a32.lanewise(VectorOperators.LSHR, 4).and(0x0F0F0F0F).or(hb.lanewise(VectorOperators.LSHR, 2).and(0x30303030));
                s = ((FloatVector) q.and(0xFF).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromMemorySegment(F, xs, xk + 384, LE));
                for (int j = 1; j < 3; j++) s = ((FloatVector) q.lanewise(VectorOperators.LSHR, 8 * j).and(0xFF).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromMemorySegment(F, xs, xk + 384 + 4 * j * L, LE), s);
                s = ((FloatVector) q.lanewise(VectorOperators.LSHR, 24).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromMemorySegment(F, xs, xk + 384 + 12 * L, LE), s);
                accB = s.fma(scales.rearrange(Q6_SCALES_3), accB);
            }
        }
        accA.add(accB).intoArray(lanes, 0);
    }

    /**
     * Q6_K at 128 bits: a 16-byte chunk is one sub-block, whose scale (times d) is broadcast. Groups run one
     * after another into two accumulators, as in {@link #q6_k8} (1.4x faster than interleaving the four). Block
     * by block, the chunk c the inner loop, x from native memory, as in q6_k8: against the chunk as the outer
     * loop (which C2 needed to drop x's bounds checks from an array, at the price of four passes over each row),
     * one thread, same process: 85 against 99 ns per block streaming, 82 against 91 in L2 (VM disturbed; the
     * sums' order, and so the last bits, differ).
     */
    private static void q6_k4(long address, long xAddress, int blocks, float[] lanes) {
        MemorySegment w = view(address, UNCUT), xs = view(xAddress, UNCUT);
        FloatVector accA = FloatVector.zero(F), accB = accA;
        for (int b = 0; b < blocks; b++) {
            long o = 210L * b;
            float d = Float.float16ToFloat(w.get(I16, o + 208));
            for (int c = 0; c < 64; c += 16) {
                long ql = o + 32 * (c >> 5) + c, qh = o + 128 + c;
                IntVector a = IntVector.fromMemorySegment(I, w, ql, LE);
                IntVector hb = IntVector.fromMemorySegment(I, w, qh, LE);
                long xk = 1024L * b + 4L * (128 * (c >> 5) + (c & 31));
                long sc = o + 192 + 8 * (c >> 5) + ((c & 31) >> 4);
                IntVector q = a.and(0x0F0F0F0F).or(hb.lanewise(VectorOperators.LSHL, 4).and(0x30303030));
                FloatVector s = ((FloatVector) q.and(0xFF).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromMemorySegment(F, xs, xk, LE));
                for (int j = 1; j < 3; j++) s = ((FloatVector) q.lanewise(VectorOperators.LSHR, 8 * j).and(0xFF).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromMemorySegment(F, xs, xk + 4 * j * L, LE), s);
                s = ((FloatVector) q.lanewise(VectorOperators.LSHR, 24).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromMemorySegment(F, xs, xk + 12 * L, LE), s);
                accA = s.fma(FloatVector.broadcast(F, d * w.get(ValueLayout.JAVA_BYTE, sc)), accA);
                q = a.lanewise(VectorOperators.LSHR, 4).and(0x0F0F0F0F).or(hb.and(0x30303030));
                s = ((FloatVector) q.and(0xFF).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromMemorySegment(F, xs, xk + 256, LE));
                for (int j = 1; j < 3; j++) s = ((FloatVector) q.lanewise(VectorOperators.LSHR, 8 * j).and(0xFF).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromMemorySegment(F, xs, xk + 256 + 4 * j * L, LE), s);
                s = ((FloatVector) q.lanewise(VectorOperators.LSHR, 24).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromMemorySegment(F, xs, xk + 256 + 12 * L, LE), s);
                accA = s.fma(FloatVector.broadcast(F, d * w.get(ValueLayout.JAVA_BYTE, sc + 4)), accA);
                IntVector a32 = IntVector.fromMemorySegment(I, w, ql + 32, LE);
                q = a32.and(0x0F0F0F0F).or(hb.lanewise(VectorOperators.LSHL, 2).and(0x30303030));
                s = ((FloatVector) q.and(0xFF).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromMemorySegment(F, xs, xk + 128, LE));
                for (int j = 1; j < 3; j++) s = ((FloatVector) q.lanewise(VectorOperators.LSHR, 8 * j).and(0xFF).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromMemorySegment(F, xs, xk + 128 + 4 * j * L, LE), s);
                s = ((FloatVector) q.lanewise(VectorOperators.LSHR, 24).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromMemorySegment(F, xs, xk + 128 + 12 * L, LE), s);
                accB = s.fma(FloatVector.broadcast(F, d * w.get(ValueLayout.JAVA_BYTE, sc + 2)), accB);
                q = a32.lanewise(VectorOperators.LSHR, 4).and(0x0F0F0F0F).or(hb.lanewise(VectorOperators.LSHR, 2).and(0x30303030));
                s = ((FloatVector) q.and(0xFF).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromMemorySegment(F, xs, xk + 384, LE));
                for (int j = 1; j < 3; j++) s = ((FloatVector) q.lanewise(VectorOperators.LSHR, 8 * j).and(0xFF).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromMemorySegment(F, xs, xk + 384 + 4 * j * L, LE), s);
                s = ((FloatVector) q.lanewise(VectorOperators.LSHR, 24).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromMemorySegment(F, xs, xk + 384 + 12 * L, LE), s);
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
            acc = t.fma(FloatVector.broadcast(F, -32f * Float.float16ToFloat(w.get(I16, o + 208))), acc);
        }
        acc.intoArray(lanes, 0);
    }

    /** {@link #q6Offsets} at 512 bits: the 16 scales as one float vector against the block's 16 sub-block sums of x. */
    private static void q6Offsets16(long address, int blocks, float[] xSums16, float[] lanes) {
        MemorySegment w = view(address, 210L * blocks);
        FloatVector acc = FloatVector.fromArray(F512, lanes, 0);
        for (int b = 0; b < blocks; b++) {
            long o = 210L * b;
            FloatVector t = ((FloatVector) ByteVector.fromMemorySegment(B16, w, o + 192, LE).convertShape(VectorOperators.B2F, F512, 0))
                    .mul(FloatVector.fromArray(F512, xSums16, 16 * b));
            acc = t.fma(FloatVector.broadcast(F512, -32f * Float.float16ToFloat(w.get(I16, o + 208))), acc);
        }
        acc.intoArray(lanes, 0);
    }
}
