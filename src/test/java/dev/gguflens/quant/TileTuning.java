package dev.gguflens.quant;

import dev.gguflens.gguf.GgmlType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Tuning aid for the tile path's blocking (not a test): times FusedMatmul with several blockings in one process,
 * in alternation, and prints each one's median against the first's. Usage (classpath as scripts/jmh.sh builds it):
 * {@code TileTuning TYPE M ROWS REPS THREADS tileRows:kChunk:mBlock:order:registerVectors ...} with order r (4-row
 * groups outside) or v (vector groups outside).
 */
public final class TileTuning {
    private static final java.lang.management.ThreadMXBean CPU = java.lang.management.ManagementFactory.getThreadMXBean();
    public static void main(String[] args) {
        GgmlType type = GgmlType.valueOf(args[0]);
        int m = Integer.parseInt(args[1]), rows = Integer.parseInt(args[2]), reps = Integer.parseInt(args[3]);
        int threads = Integer.parseInt(args[4]);
        int cols = 4096;
        List<FusedMatmul.Blocking> blockings = new ArrayList<>();
        for (int i = 5; i < args.length; i++) {
            String[] f = args[i].split(":");
            blockings.add(new FusedMatmul.Blocking(Integer.parseInt(f[0]), Integer.parseInt(f[1]), Integer.parseInt(f[2]),
                    f[3].equals("v"), Integer.parseInt(f[4])));
        }
        try (Arena arena = Arena.ofShared()) {
            long bytes = rows * type.rowBytes(cols);
            MemorySegment data = arena.allocate(bytes, 64);
            byte[] pattern = QuantTestData.randomBlocks(type, (int) ((4 << 20) / type.typeSize), new Random(1));
            for (long off = 0; off < bytes; off += pattern.length) {
                MemorySegment.copy(pattern, 0, data, ValueLayout.JAVA_BYTE, off, (int) Math.min(pattern.length, bytes - off));
            }
            WeightMatrix w = new WeightMatrix(type, data, rows, cols);
            float[] x = QuantTestData.gaussian(m * cols, new Random(2));
            float[][] y = new float[blockings.size()][m * rows];
            long[][] nanos = new long[blockings.size()][reps];
            long warmUntil = System.nanoTime() + 4_000_000_000L;
            while (System.nanoTime() < warmUntil) {
                for (FusedMatmul.Blocking bl : blockings) FusedMatmul.multiply(w, x, m, 0, rows, y[0], threads, bl);
            }
            for (int rep = 0; rep < reps; rep++) {
                for (int k = 0; k < blockings.size(); k++) {
                    int b = Math.floorMod(k + rep, blockings.size());
                    // one thread: this thread's CPU time (robust to other load); more: wall clock
                    long t0 = threads == 1 ? CPU.getCurrentThreadCpuTime() : System.nanoTime();
                    FusedMatmul.multiply(w, x, m, 0, rows, y[b], threads, blockings.get(b));
                    long dt = (threads == 1 ? CPU.getCurrentThreadCpuTime() : System.nanoTime()) - t0;
                    if (rep >= 0) nanos[b][rep] = dt;
                }
            }
            double base = 0, baseMin = 0;
            for (int b = 0; b < blockings.size(); b++) {
                if (!Arrays.equals(y[0], y[b])) System.out.println("BITS DIFFER for " + blockings.get(b));
                long[] s = nanos[b].clone();
                Arrays.sort(s);
                double med = s[reps / 2] / 1e6;
                if (b == 0) { base = med; baseMin = s[0] / 1e6; }
                FusedMatmul.Blocking bl = blockings.get(b);
                System.out.printf("%-5s m=%-4d %2d:%4d:%3d:%s:%d  median %8.2f ms (x%.3f)  min %8.2f (x%.3f)  %6.1f GF/s at min%n", type, m,
                        bl.tileRows(), bl.kChunk(), bl.mBlock(), bl.vectorsOuter() ? "v" : "r", bl.registerVectors(), med, med / base,
                        s[0] / 1e6, s[0] / 1e6 / baseMin, 2.0 * m * rows * cols / s[0]);
            }
        }
    }
}
