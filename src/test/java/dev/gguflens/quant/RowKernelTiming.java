package dev.gguflens.quant;

import dev.gguflens.gguf.GgmlType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Random;

/**
 * Development timing of the m = 1 row kernels on one thread, in thread CPU time (robust to other load on the
 * machine): ns per 256 weights with rows resident in L2 (compute cost) and streamed from memory.
 * Usage: java ... dev.gguflens.quant.RowKernelTiming TYPE[,TYPE...] [rowsL2] [rowsBig]
 */
public final class RowKernelTiming {
    public static void main(String[] args) {
        String[] types = args[0].split(",");
        int rowsSmall = args.length > 1 ? Integer.parseInt(args[1]) : 32;
        int rowsBig = args.length > 2 ? Integer.parseInt(args[2]) : 0;
        int cols = 4096;
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        System.out.println("clock estimate GHz: " + String.format("%.2f", clock(mx)) + " vector bits " + PackedRowKernels.L * 32);
        for (String name : types) {
            GgmlType t = GgmlType.valueOf(name);
            for (int rows : rowsBig > 0 ? new int[] {rowsSmall, rowsBig} : new int[] {rowsSmall}) {
                try (Arena arena = Arena.ofShared()) {
                    long bytes = rows * t.rowBytes(cols);
                    MemorySegment data = arena.allocate(bytes, 64);
                    byte[] pattern = QuantTestData.randomBlocks(t, (int) Math.min(bytes, 4 << 20) / t.typeSize, new Random(1));
                    for (long off = 0; off < bytes; off += pattern.length) {
                        MemorySegment.copy(pattern, 0, data, ValueLayout.JAVA_BYTE, off, (int) Math.min(pattern.length, bytes - off));
                    }
                    WeightMatrix w = new WeightMatrix(t, data, rows, cols);
                    float[] x = QuantTestData.gaussian(cols, new Random(2));
                    float[] y = new float[rows];
                    RowKernels.Prepared prep = RowKernels.prepare(t, x, cols);
                    long address = data.address(), rowBytes = t.rowBytes(cols);
                    Runnable call = () -> RowKernels.dotRows(t, address, rows, rowBytes, x, cols, prep, y, 0);
                    long target = 150_000_000L;  // 0.15 s CPU per sample
                    // warm up: 2 s CPU
                    long start = mx.getCurrentThreadCpuTime();
                    int reps = 0;
                    while (mx.getCurrentThreadCpuTime() - start < 2_000_000_000L) {
                        call.run();
                        reps++;
                    }
                    long per = (mx.getCurrentThreadCpuTime() - start) / reps;
                    int n = (int) Math.max(1, target / Math.max(1, per));
                    double best = Double.MAX_VALUE;
                    double[] s = new double[5];
                    for (int k = 0; k < 5; k++) {
                        long c0 = mx.getCurrentThreadCpuTime();
                        for (int i = 0; i < n; i++) call.run();
                        s[k] = (mx.getCurrentThreadCpuTime() - c0) / (double) n / ((double) rows * cols / 256);
                        best = Math.min(best, s[k]);
                    }
                    java.util.Arrays.sort(s);
                    System.out.printf("%-5s rows %6d  ns/256w min %.2f median %.2f  GB/s(median) %.2f  y0=%s%n", name, rows, best, s[2],
                            t.rowBytes(256) / s[2], Float.toString(y[0]));
                }
            }
        }
    }

    /** GHz from a dependent chain of vector FMAs (4 cycles each on Zen 2/3 and most x86 cores). */
    private static double clock(ThreadMXBean mx) {
        float[] a = new float[16];
        a[8] = 0.5f;
        for (int i = 0; i < 3; i++) chain(a, 10_000_000);
        long c0 = mx.getCurrentThreadCpuTime();
        float f = chain(a, 100_000_000);
        long ns = mx.getCurrentThreadCpuTime() - c0;
        if (f == 42) System.out.println();
        return 4e8 / ns;
    }

    private static float chain(float[] a, int n) {
        jdk.incubator.vector.FloatVector acc = jdk.incubator.vector.FloatVector.fromArray(jdk.incubator.vector.FloatVector.SPECIES_128, a, 0);
        jdk.incubator.vector.FloatVector m = jdk.incubator.vector.FloatVector.fromArray(jdk.incubator.vector.FloatVector.SPECIES_128, a, 8);
        for (int i = 0; i < n; i++) acc = acc.fma(m, m);
        return acc.lane(0);
    }
}
