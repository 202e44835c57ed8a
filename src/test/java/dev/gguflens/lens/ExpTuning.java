package dev.gguflens.lens;

import java.util.Arrays;
import java.util.Random;

/** Tuning aid (not a test): one thread's CPU ns per element of RowStatistics.expOfDifference and accept. */
public final class ExpTuning {
    public static void main(String[] args) {
        var cpu = java.lang.management.ManagementFactory.getThreadMXBean();
        int n = 8192;
        double[] z = new double[n], f = new double[n], out = new double[n];
        Random rnd = new Random(1);
        for (int i = 0; i < n; i++) { z[i] = rnd.nextGaussian() * 3; f[i] = rnd.nextGaussian() * 3; }
        long[] e = new long[9], a = new long[9];
        for (int rep = 0; rep < 300 + e.length; rep++) {
            long t0 = cpu.getCurrentThreadCpuTime();
            for (int i = 0; i < 20; i++) RowStatistics.expOfDifference(z, 0, 12.0, out, n);
            long t1 = cpu.getCurrentThreadCpuTime();
            RowStatistics s = new RowStatistics(10, new int[] {3}, new double[] {0.5});
            for (int i = 0; i < 20; i++) s.accept(z, 0, f, 0, n, i * n);
            long t2 = cpu.getCurrentThreadCpuTime();
            if (rep >= 300) { e[rep - 300] = t1 - t0; a[rep - 300] = t2 - t1; }
        }
        Arrays.sort(e);
        Arrays.sort(a);
        System.out.printf("exp %.2f ns/elem, accept %.2f ns/elem%n", e[4] / 20.0 / n, a[4] / 20.0 / n);
    }
}
