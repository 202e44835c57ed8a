package dev.gguflens.quant;

import dev.gguflens.gguf.GgmlType;
import java.util.Arrays;
import java.util.Random;

/** Tuning aid (not a test): CPU ns per weight of the tile decoders, per type. Args: TYPE... */
public final class DecodeTuning {
    private static final java.lang.management.ThreadMXBean CPU = java.lang.management.ManagementFactory.getThreadMXBean();
    public static void main(String[] args) {
        int n = 4096 * 16;
        for (String name : args) {
            GgmlType t = GgmlType.valueOf(name);
            byte[] raw = QuantTestData.randomBlocks(t, n / t.blockSize, new Random(1));
            float[] y = new float[n];
            long[] ns = new long[15];
            for (int rep = 0; rep < 200 + ns.length; rep++) {
                long t0 = CPU.getCurrentThreadCpuTime();
                for (int i = 0; i < 10; i++) BlockDecoder.decode(t, raw, 0, y, 0, n / t.blockSize);
                long dt = CPU.getCurrentThreadCpuTime() - t0;
                if (rep >= 200) ns[rep - 200] = dt;
            }
            Arrays.sort(ns);
            System.out.printf("%-5s decode %.3f ns/weight (min %.3f)%n", t, ns[ns.length / 2] / 10.0 / n, ns[0] / 10.0 / n);
        }
    }
}
