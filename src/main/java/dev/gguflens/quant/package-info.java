/**
 * Dequantisation and the fused product y = x · Wᵀ of ggml weight blocks, in Java.
 *
 * <p>Which code serves which type at which vector width (the width is {@code FloatVector.SPECIES_PREFERRED},
 * which {@code -XX:MaxVectorSize} narrows; {@code -Dgguflens.quant.scalar=true} turns all SIMD code off):
 *
 * <table>
 * <caption>Kernels by type and width</caption>
 * <tr><th>path</th><th>512 bits (AVX-512)</th><th>256 bits (AVX2)</th><th>128 bits (NEON, SSE)</th></tr>
 * <tr><td>m = 1 row kernels, Q8_0 ({@link dev.gguflens.quant.Q8_0Rows}; the dispatch in
 *     {@link dev.gguflens.quant.RowKernels})</td>
 *     <td>its 512-bit layout ({@code wideRows})</td>
 *     <td colspan="2">{@link dev.gguflens.quant.PackedRowKernels} (8 or 4 lanes)</td></tr>
 * <tr><td>m = 1 row kernels, F16 Q6_K ({@link dev.gguflens.quant.F16Rows}, {@link dev.gguflens.quant.Q6_KRows})</td>
 *     <td colspan="3">PackedRowKernels' layout at the machine's width (16, 8 or 4 lanes)</td></tr>
 * <tr><td>m = 1 row kernels, Q4_0 Q4_K Q5_K BF16 F32 ({@link dev.gguflens.quant.Q4_KRows},
 *     {@link dev.gguflens.quant.Q5_KRows}, ...; the 512-bit layouts RowKernels had for Q4_K, Q6_K and F16 were slower
 *     than these on an AVX-512 Xeon, see RowKernels.wideKernel)</td><td>PackedRowKernels at 256 bits</td>
 *     <td colspan="2">PackedRowKernels (8 or 4 lanes)</td></tr>
 * <tr><td>how PackedRowKernels reads each type</td><td colspan="3">Q8_0 Q4_0 Q4_K Q5_K: packed bytes as int lanes,
 *     one byte extracted per step (shift or mask), converted, one FMA; scales multiply lane-wise partial sums.
 *     Q4_K Q5_K Q6_K: block by block, one pass over each row in order, with x read from a native copy
 *     ({@code RowKernels.Prepared.withNativeX}) through a segment of unbounded size, so neither x nor the weights
 *     carry a bounds check in the loop (the earlier loops ran a group or half block as the outer loop so that C2
 *     could drop an array's bounds checks, and read each row two to five times with a stride: 1.3-1.7x slower).
 *     Q4_K Q5_K: the block's 8 scales times d as one vector stored to a scratch array and broadcast per group,
 *     the min term one vector product per block; at 128 bits a 32-weight group is two 16-byte chunks, each with
 *     its own FMA chains; Q5_K's fifth bit or-ed in place at bit 4 of each byte. Q4_0 at 256 bits: two blocks per
 *     vector (two overlapping loads 2 bytes apart, blended), an odd last block at 128 bits (504 to 244
 *     instructions per 256 weights); at 128 bits one block per vector. The row views of Q8_0, Q4_0, Q4_K, Q5_K
 *     and Q6_K are not cut to the row ({@code PackedRowKernels.UNCUT}), so C2 drops the segment's bounds checks.
 *     Q6_K: the 6-bit values assembled in place, each byte then shifted down and masked with 0xFF (one mask
 *     constant, not four), one 32-weight group after another (each to the end of its FMA chain, two accumulators, so
 *     AVX2's 16 registers hold them); at 256 bits a chunk spans two sub-blocks, so its scale vector is a
 *     permutation of the half block's 8 scales (times d), at 128 bits one broadcast scale; at 512 bits one load is
 *     a 64-weight run of four sub-blocks (two groups sharing qh's bytes, put in both halves of a vector by one
 *     permutation), its scale vector a permutation of the block's 16 scales.
 *     Q8_0: one int-lane load per block at 256 bits (two at 128), each byte sign-extended by a shift pair; its view
 *     of a row is not cut to the row, so C2 drops the bounds checks in every compile (320 to 272 instructions per
 *     256 weights at 256 bits in bench's compiles).
 *     F16 ({@link dev.gguflens.quant.F16Rows}) at 128, 256 and 512 bits: two halves per int lane moved into float
 *     position by shifts and a mask (6 integer operations per int vector), which reads each half as exactly its value
 *     times 2^-112, so x is scaled by 2^112 (after normalising it like the sub-byte types'); a 3-operation carry test
 *     sends rows holding an infinity or NaN to an exact scalar loop; x interleaved as for BF16.
 *     BF16: a shift or a mask per half. F32: 4-chain dot.
 *     The loops of Q8_0, BF16 and F32 are written so that C2 can remove their bounds checks and unroll them: a
 *     count of vectors as the loop variable, segment offsets a long multiple of it, no inner loop of one pass.</td></tr>
 * <tr><td>m &gt; 1, rows a multiple of 256 long</td><td>the lane-wise path below</td>
 *     <td>{@link dev.gguflens.quant.ColumnLaneTiles}: x packed into panels of 16 vectors (one vector of 8 lanes for a
 *     last panel that fits one), 48 rows decoded 256 columns at a time into a tile of constant row stride, a 6-row x
 *     2-vector outer-product register block (weights broadcast; 8 x 1 for a one-vector panel); per output one FMA chain per 256 columns, the
 *     chains' sums added in order, the same bits at every width (its kernels are tested at all three)</td>
 *     <td>the lane-wise path below (x86 at 128 bits measured 1.07x its time at m = 37; NEON not measured)</td></tr>
 * <tr><td>m &gt; 1 otherwise (and m = 1 for all other types): rows decoded into a float tile (16 rows, 64 when m spans more
 *     than one M block, so that a tile writes 256 B of each vector's outputs where 16 rows wrote 64 B to a page of
 *     the vector-major y; laid out in K blocks of 4096 like x: one block at n_embd up to 4096), then
 *     {@link dev.gguflens.quant.FusedMatmul}'s register-blocked product over M blocks of 48; threads take 64 rows at
 *     a time from a shared counter. The
 *     blocking is one value ({@code FusedMatmul.Blocking}); none of it changes a bit, and the constants' comments
 *     give the measurements that chose them</td>
 *     <td>tile decoding: {@link dev.gguflens.quant.VectorDecoder} for BF16 Q8_0 Q4_0 Q4_K Q5_K Q6_K (16 lanes;
 *     Q4_K Q5_K Q6_K: 16 bytes widened to int lanes); F16 by an auto-vectorised loop, F32 copied; the rest
 *     {@link dev.gguflens.quant.BlockDecoder}. Register block 4 rows x 6 vectors (32 registers)</td>
 *     <td>tile decoding: VectorDecoder, 8 lanes (Q4_K Q5_K Q6_K: 8 bytes widened to int lanes, bit fields cut
 *     there; the others 16-byte loads in two parts); register block 4 x 2 (16 registers: 4 x 3 and 4 x 6 spilled
 *     in C2's unrolled loop)</td>
 *     <td>tile decoding: VectorDecoder, 16 bytes widened in four 4-lane parts (Q6_K: 8-byte loads whose first 4
 *     bytes are widened to int lanes, bit fields cut there); register block 4 x 2 (4 x 6 on
 *     AArch64's 32 registers)</td></tr>
 * <tr><td>dequantisation ({@link dev.gguflens.quant.Kernels})</td><td colspan="3">BlockDecoder, through
 *     VectorDecoder where it handles the type (128 bits and wider); the reference for every other path</td></tr>
 * </table>
 *
 * <p>Every path gives the same bits on every run, thread count and JIT state at one width (fixed-order lane
 * folds, {@link dev.gguflens.quant.FloatLanes}); different widths sum in different orders, all within 1e-5 of
 * dequantise-then-dot relative to the sum of absolute terms. Threads come from {@link
 * dev.gguflens.quant.ParallelFor}.
 */
package dev.gguflens.quant;
