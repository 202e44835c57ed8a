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
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;


/**
 * Q4_0's m = 1 row kernel (blocks of 32 four-bit weights and one F16 scale): the packed int-lane layout of
 * {@link PackedRowKernels} with the masked nibble extraction of its 4-bit types. A block's 16 quant bytes fill one
 * 128-bit vector; at 256 bits two blocks share one (their 16-byte runs are 18 bytes apart, so two overlapping loads
 * are blended), and an odd last block runs at 128 bits.
 */
final class Q4_0Rows {
    /** Q4_0's 16 quant bytes fill exactly one 128-bit vector: the 128-bit kernel, and the odd last block at 256 bits. */
    private static final VectorSpecies<Float> F4 = FloatVector.SPECIES_128;
    private static final VectorSpecies<Integer> I4 = IntVector.SPECIES_128;
    /** At 256 bits: lanes 4-7 (the second block of a pair) come from the second load, and take its scale. */
    private static final VectorMask<Integer> SECOND_BLOCK = L == 8 ? VectorMask.fromLong(I, 0xF0) : null;
    private static final VectorMask<Float> SECOND_SCALE = L == 8 ? VectorMask.fromLong(F, 0xF0) : null;

    private Q4_0Rows() {
    }

    /**
     * x in the order the kernel reads it, scaled as in {@link PackedRowKernels#prepareMasked}. At 256 bits each pair of
     * blocks (64 elements) is one run: int lane i (of 8) holds bytes 4(i%4)..4(i%4)+3 of block i/4, so position
     * 8j + i holds element 32(i/4) + 4(i%4) + j (low nibbles) and 32 + 8j + i the element 16 further (high
     * nibbles), scaled by 2^-8j; an odd last block keeps the 128-bit order.
     */
    static RowKernels.Prepared prepare(float[] x, int cols) {
        if (L == 4) return PackedRowKernels.prepareMasked(dev.gguflens.gguf.GgmlType.Q4_0, x, cols, F4.length());
        int exponent = PackedRowKernels.normalisingExponent(x, cols);
        float[] xs = new float[cols];
        for (int k = 0; k < cols; k++) xs[k] = Math.scalb(x[k], exponent);
        int pairs = cols / 64;
        float[] xo = new float[cols];
        for (int t = 0; t < pairs; t++) {
            for (int j = 0; j < 4; j++) {
                for (int i = 0; i < 8; i++) {
                    int e = 64 * t + 32 * (i / 4) + 4 * (i % 4) + j;
                    xo[64 * t + 8 * j + i] = Math.scalb(xs[e], -8 * j);
                    xo[64 * t + 32 + 8 * j + i] = Math.scalb(xs[e + 16], -8 * j);
                }
            }
        }
        if (cols % 64 != 0) {
            // The last block in the 128-bit order: runs of 16, position 4j + i holds element 4i + j.
            float[] tail = PackedRowKernels.interleave(java.util.Arrays.copyOfRange(xs, 64 * pairs, cols), 32, 4, 4);
            for (int k = 0; k < 32; k++) xo[64 * pairs + k] = Math.scalb(tail[k], -8 * ((k % 16) / 4));
        }
        return new RowKernels.Prepared(PackedRowKernels.subBlockSums(xs, cols, 32), xo, exponent);
    }

    static void rows(long address, int nr, long rowBytes, float[] xo, int blocks, int exponent, float[] sums, float[] y, int yo) {
        float[] lanes = new float[L];
        for (int j = 0; j < nr; j++) {
            long row = address + j * rowBytes;
            float v = L == 8 ? q4_0x8(row, xo, blocks, sums, lanes) : q4_0(row, xo, 0, blocks, sums, lanes);
            y[yo + j] = Math.scalb(v, -exponent);
        }
    }

    /**
     * Q4_0 at 256 bits, two blocks per step: bytes 2..17 of block 2t in lanes 0-3 (a load at its quants) and of block
     * 2t+1 in lanes 4-7 (a load 2 bytes further, whose upper half is that block's quants), blended; the two scales
     * likewise. w = d*(q-8), summed as d*sum(q*x) - 8*d*sum(x).
     */
    private static float q4_0x8(long address, float[] xo, int blocks, float[] xSums, float[] lanes) {
        MemorySegment w = view(address, UNCUT);
        FloatVector acc = FloatVector.zero(F);
        float offsets = 0;
        int pairs = blocks / 2;
        for (int t = 0; t < pairs; t++) {
            long o = 36L * t;
            IntVector q = IntVector.fromMemorySegment(I, w, o + 2, LE).blend(IntVector.fromMemorySegment(I, w, o + 4, LE), SECOND_BLOCK);
            IntVector q4 = q.lanewise(VectorOperators.LSHR, 4);
            int xk = 64 * t;
            FloatVector lo = ((FloatVector) q.and(0xF).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromArray(F, xo, xk));
            FloatVector hi = ((FloatVector) q4.and(0xF).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromArray(F, xo, xk + 32));
            for (int j = 1; j < 4; j++) {
                lo = ((FloatVector) q.and(0xF << (8 * j)).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xo, xk + 8 * j), lo);
                hi = ((FloatVector) q4.and(0xF << (8 * j)).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xo, xk + 32 + 8 * j), hi);
            }
            float d0 = Float.float16ToFloat(w.get(I16, o)), d1 = Float.float16ToFloat(w.get(I16, o + 18));
            acc = lo.add(hi).fma(FloatVector.broadcast(F, d0).blend(FloatVector.broadcast(F, d1), SECOND_SCALE), acc);
            offsets = Math.fma(d1, xSums[2 * t + 1], Math.fma(d0, xSums[2 * t], offsets));
        }
        acc.intoArray(lanes, 0);
        float sum = laneSum(lanes, L) - 8 * offsets;
        return blocks % 2 == 0 ? sum : sum + q4_0(address, xo, blocks - 1, blocks, xSums, lanes);
    }

    /** Q4_0 at 128 bits (its 16 quant bytes are one such vector), blocks [first, blocks) of the row. */
    private static float q4_0(long address, float[] xo, int first, int blocks, float[] xSums, float[] lanes) {
        MemorySegment w = view(address, UNCUT);
        FloatVector acc = FloatVector.zero(F4);
        int l4 = F4.length();
        float offsets = 0;
        for (int b = first; b < blocks; b++) {
            long o = 18L * b;
            IntVector q = IntVector.fromMemorySegment(I4, w, o + 2, LE), q4 = q.lanewise(VectorOperators.LSHR, 4);
            int xk = 32 * b;
            // Two FMA chains (low and high nibbles) of 4 steps each, added at the end: one chain of 8 dependent
            // FMAs per block made FMA latency the bound (151936 x 4096 at 128 bits on two AVX2 threads, same
            // process: 69-73 against 89-90 ms).
            FloatVector lo = ((FloatVector) q.and(0xF).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromArray(F4, xo, xk));
            FloatVector hi = ((FloatVector) q4.and(0xF).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromArray(F4, xo, xk + 16));
            for (int j = 1; j < 4; j++) {
                lo = ((FloatVector) q.and(0xF << (8 * j)).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F4, xo, xk + j * l4), lo);
                hi = ((FloatVector) q4.and(0xF << (8 * j)).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F4, xo, xk + 16 + j * l4), hi);
            }
            float d = Float.float16ToFloat(w.get(I16, o));
            acc = lo.add(hi).fma(FloatVector.broadcast(F4, d), acc);
            offsets = Math.fma(d, xSums[b], offsets);
        }
        acc.intoArray(lanes, 0);
        return laneSum(lanes, l4) - 8 * offsets;
    }
}
