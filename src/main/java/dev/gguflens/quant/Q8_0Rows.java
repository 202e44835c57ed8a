package dev.gguflens.quant;

import static dev.gguflens.quant.PackedRowKernels.F;
import static dev.gguflens.quant.PackedRowKernels.I16;
import static dev.gguflens.quant.PackedRowKernels.L;
import static dev.gguflens.quant.PackedRowKernels.LE;
import static dev.gguflens.quant.PackedRowKernels.UNCUT;
import static dev.gguflens.quant.PackedRowKernels.laneSum;
import static dev.gguflens.quant.PackedRowKernels.view;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;


/**
 * Q8_0's m = 1 row kernels (blocks of 32 int8 weights and one F16 scale): {@link #rows} at 128 and 256 bits, the
 * packed int-lane layout of {@link PackedRowKernels} (x interleaved, 4 bytes per int lane); {@link #wideRows} at
 * 512 bits, bytes widened to floats (x as it is).
 */
final class Q8_0Rows {
    /** 4L quant bytes: one int vector of L lanes. */
    private static final VectorSpecies<Byte> BQ = L == 8 ? ByteVector.SPECIES_256 : ByteVector.SPECIES_128;

    private Q8_0Rows() {
    }

    static RowKernels.Prepared prepare(float[] x, int cols) {
        return new RowKernels.Prepared(null, PackedRowKernels.interleave(x, cols, 4, L), 0);
    }

    static void rows(long address, int nr, long rowBytes, float[] xo, int blocks, float[] y, int yo) {
        float[] lanes = new float[L];
        for (int j = 0; j < nr; j++) y[yo + j] = packed(address + j * rowBytes, xo, blocks, lanes);
    }

    /**
     * Q8_0: per block, q*x summed in two chains, then times the block scale. One int-lane load covers 4L
     * quant bytes (the whole block at 256 bits, half of it at 128), and the block loop has no inner loop:
     * written so, C2 can unroll it (4 blocks per pass at 256 bits: 238 instead of 330 instructions per 256
     * weights). The load is a byte vector reinterpreted as ints because with {@code IntVector.fromMemorySegment} C2
     * kept a bounds check per load and did not unroll.
     * <p>The view is not cut to the row: with the row's length (34 * blocks) as its size, whether C2 removed the two
     * bounds checks per block (the quant load and the scale) depended on the profile, and in bench's process it kept
     * them and did not unroll: 40 instructions per block (320 per 256 weights) at 256 bits in both bench compiles
     * disassembled, against 30 unrolled in RowKernelTiming's. With a size no offset can reach (34L * b + 34 for an int
     * b stays far below 2^62), C2 proves every check true from the types alone: 34 instructions per block (272 per 256
     * weights) in both bench compiles disassembled, 30 where it unrolls; 128 bits is unchanged (55 per block). The
     * reads stay within the row because the loop runs over its blocks, as before.
     */
    private static float packed(long address, float[] xo, int blocks, float[] lanes) {
        MemorySegment w = view(address, UNCUT);
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++) {
            long o = 34L * b;
            int xk = 32 * b;
            IntVector q = ByteVector.fromMemorySegment(BQ, w, o + 2, LE).reinterpretAsInts();
            // Byte j of every lane, sign-extended: shifted to the top, then arithmetically back down.
            FloatVector p0 = ((FloatVector) q.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromArray(F, xo, xk));
            FloatVector p1 = ((FloatVector) q.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromArray(F, xo, xk + L));
            p0 = ((FloatVector) q.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xo, xk + 2 * L), p0);
            p1 = ((FloatVector) q.lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xo, xk + 3 * L), p1);
            if (L == 4) {
                IntVector r = ByteVector.fromMemorySegment(BQ, w, o + 18, LE).reinterpretAsInts();
                p0 = ((FloatVector) r.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xo, xk + 16), p0);
                p1 = ((FloatVector) r.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xo, xk + 16 + L), p1);
                p0 = ((FloatVector) r.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xo, xk + 16 + 2 * L), p0);
                p1 = ((FloatVector) r.lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xo, xk + 16 + 3 * L), p1);
            }
            acc = p0.add(p1).fma(FloatVector.broadcast(F, Float.float16ToFloat(w.get(I16, o))), acc);
        }
        acc.intoArray(lanes, 0);
        return laneSum(lanes, L);
    }

    // 512 bits (RowKernels.WIDE): L bytes convert into one float vector.
    private static final VectorSpecies<Float> FW = FloatVector.SPECIES_PREFERRED.length() >= 16
            ? FloatVector.SPECIES_512 : FloatVector.SPECIES_256;
    private static final int LW = FW.length();
    private static final VectorSpecies<Byte> BW = VectorSpecies.of(byte.class, VectorShape.forBitSize(LW * 8));

    static void wideRows(long address, int nr, long rowBytes, float[] x, int blocks, float[] y, int yo) {
        for (int j = 0; j < nr; j++) y[yo + j] = wide(address + j * rowBytes, rowBytes, x, blocks);
    }

    private static float wide(long address, long size, float[] x, int blocks) {
        MemorySegment w = view(address, size);
        // Two accumulators (even and odd blocks) so consecutive blocks do not wait on one FMA chain.
        FloatVector even = FloatVector.zero(FW), odd = even;
        int b = 0;
        for (; b + 2 <= blocks; b += 2) {
            long o = 34L * b;
            even = wideBlock(w, o, x, 32 * b).fma(FloatVector.broadcast(FW, Float.float16ToFloat(w.get(I16, o))), even);
            odd = wideBlock(w, o + 34, x, 32 * b + 32).fma(FloatVector.broadcast(FW, Float.float16ToFloat(w.get(I16, o + 34))), odd);
        }
        if (b < blocks) even = wideBlock(w, 34L * b, x, 32 * b).fma(FloatVector.broadcast(FW, Float.float16ToFloat(w.get(I16, 34L * b))), even);
        return FloatLanes.sum(even.add(odd));
    }

    /** sum of q*x over one Q8_0 block, lane-wise (the block scale is applied by the caller). */
    private static FloatVector wideBlock(MemorySegment w, long o, float[] x, int k) {
        FloatVector p = bytesAsFloats(w, o + 2).mul(FloatVector.fromArray(FW, x, k));
        for (int j = LW; j < 32; j += LW) p = bytesAsFloats(w, o + 2 + j).fma(FloatVector.fromArray(FW, x, k + j), p);
        return p;
    }

    private static FloatVector bytesAsFloats(MemorySegment w, long off) {
        return (FloatVector) ByteVector.fromMemorySegment(BW, w, off, LE).convertShape(VectorOperators.B2F, FW, 0);
    }
}
