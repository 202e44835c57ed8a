package dev.gguflens.experiment;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import dev.gguflens.quant.ParallelFor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The two roofs a matrix-vector product runs into on this machine, measured from Java: read bandwidth (a vector
 * sum over a 1 GiB off-heap segment, far beyond any cache) and the vector FMA peak (independent accumulators,
 * no memory traffic). Best of a few passes, so the figures are what the hardware can give, not an average.
 */
public final class MachineRoofline {
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    private static final long BANDWIDTH_BYTES = 1L << 30;
    private static final int PASSES = 5;
    @SuppressWarnings("unused") private static volatile float warmupSink;

    private MachineRoofline() {}

    /**
     * The vector width the Java kernels run at (the preferred species, which -XX:MaxVectorSize narrows) and the
     * CPU's SIMD features, e.g. "256-bit vectors (8 float lanes), amd64 AVX2 FMA F16C".
     */
    public static String vectorDescription() {
        int bits = SPECIES.vectorBitSize();
        String arch = System.getProperty("os.arch", "unknown");
        return bits + "-bit vectors (" + SPECIES.length() + " float lanes), " + arch + " " + cpuFeatures(arch);
    }

    /** SIMD features from /proc/cpuinfo (Linux); on other systems what the architecture implies. */
    static String cpuFeatures(String arch) {
        Set<String> flags = new HashSet<>();
        try (var lines = Files.lines(Path.of("/proc/cpuinfo"))) {
            lines.filter(l -> l.startsWith("flags") || l.startsWith("Features")).findFirst()
                    .ifPresent(l -> flags.addAll(Arrays.asList(l.substring(l.indexOf(':') + 1).trim().split("\\s+"))));
        } catch (IOException | UncheckedIOException e) {
            // not Linux, or not readable: fall through to what the architecture implies
        }
        boolean arm = arch.equals("aarch64") || arch.equals("arm64");
        if (flags.isEmpty()) return arm ? "NEON" : "(features unknown)";
        List<String> names = arm ? List.of("asimd", "sve", "sve2") : List.of("avx512f", "avx512bw", "avx512vl", "avx2", "avx", "fma", "f16c");
        StringBuilder sb = new StringBuilder();
        for (String n : names) {
            if (!flags.contains(n)) continue;
            if (!sb.isEmpty()) sb.append(' ');
            sb.append(n.equals("asimd") ? "NEON" : n.toUpperCase(Locale.ROOT).replace("AVX512", "AVX-512"));
        }
        return sb.isEmpty() ? "(no SIMD features listed)" : sb.toString();
    }

    /** GB/s (1e9 bytes) of reading a 1 GiB segment once with {@code threads} threads. */
    public static double readBandwidthGbps(int threads) {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment data = arena.allocate(BANDWIDTH_BYTES, 64);
            data.fill((byte) 1);
            long slice = BANDWIDTH_BYTES / threads / 64 * 64;
            double best = Double.MAX_VALUE;
            for (int pass = 0; pass < PASSES; pass++) {
                float[] sums = new float[threads];  // kept, so the reads are not optimised away
                long start = System.nanoTime();
                ParallelFor.parts(threads, t -> sums[t] = sum(data.asSlice(t * slice, slice)));
                best = Math.min(best, System.nanoTime() - start);
            }
            return slice * threads / best;
        }
    }

    /** GFLOP/s of fused multiply-adds on {@code threads} threads, counting an FMA as two operations. */
    public static double peakFmaGflops(int threads) {
        // Compile the loop with C2 first. Timed straight away, the first passes ran interpreted or OSR-compiled
        // mid-pass (1.2-1.7 GFLOP/s for a whole pass on the 2-core AVX2 EPYC), and the best of only three
        // 2-thread passes read anywhere from 40 to 116 GFLOP/s at 256 bits in one session (the older loop form,
        // see fmaLoop).
        float sink = 0;
        for (int i = 0; i < 3_000; i++) sink += fmaLoop(2_000);
        warmupSink = sink; // a use the JIT cannot drop, so the warm-up runs
        int iterations = 20_000_000;
        double best = Double.MAX_VALUE;
        for (int pass = 0; pass < PASSES; pass++) {
            float[] results = new float[threads];
            long start = System.nanoTime();
            ParallelFor.parts(threads, t -> results[t] = fmaLoop(iterations));
            best = Math.min(best, System.nanoTime() - start);
        }
        return 2.0 * SPECIES.length() * 12 * (double) iterations * threads / best;
    }

    private static float sum(MemorySegment part) {
        FloatVector a0 = FloatVector.zero(SPECIES), a1 = a0, a2 = a0, a3 = a0;
        long step = SPECIES.vectorByteSize();
        long off = 0;
        for (; off + 4 * step <= part.byteSize(); off += 4 * step) {
            a0 = a0.add(FloatVector.fromMemorySegment(SPECIES, part, off, ByteOrder.LITTLE_ENDIAN));
            a1 = a1.add(FloatVector.fromMemorySegment(SPECIES, part, off + step, ByteOrder.LITTLE_ENDIAN));
            a2 = a2.add(FloatVector.fromMemorySegment(SPECIES, part, off + 2 * step, ByteOrder.LITTLE_ENDIAN));
            a3 = a3.add(FloatVector.fromMemorySegment(SPECIES, part, off + 3 * step, ByteOrder.LITTLE_ENDIAN));
        }
        return a0.add(a1).add(a2).add(a3).reduceLanes(VectorOperators.ADD);
    }

    /**
     * Twelve independent FMA chains, each carried through the addend (a = m*c + a), as every product kernel carries
     * its accumulators. Carried through a multiplicand instead (a = a*m + c), the chains measured only 57-78 GFLOP/s
     * on one thread and 101-114 on two at 256 bits on the 2-core Zen 3 EPYC, against 93 and 143-173 for this form
     * (the product's column-lane kernels reached 118-140, more than that older figure).
     */
    private static float fmaLoop(int iterations) {
        FloatVector m = FloatVector.broadcast(SPECIES, 0.999999f), c = FloatVector.broadcast(SPECIES, 1e-7f);
        FloatVector a0 = FloatVector.broadcast(SPECIES, 1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0;
        FloatVector a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        for (int i = 0; i < iterations; i++) {
            a0 = m.fma(c, a0); a1 = m.fma(c, a1); a2 = m.fma(c, a2); a3 = m.fma(c, a3);
            a4 = m.fma(c, a4); a5 = m.fma(c, a5); a6 = m.fma(c, a6); a7 = m.fma(c, a7);
            a8 = m.fma(c, a8); a9 = m.fma(c, a9); a10 = m.fma(c, a10); a11 = m.fma(c, a11);
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10).add(a11)
                .reduceLanes(VectorOperators.ADD);
    }
}
