package dev.gguflens.llama;

import dev.gguflens.gguf.GgmlType;
import dev.gguflens.gguf.GgufFile;
import dev.gguflens.gguf.GgufTensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** An independent float64 reference for norm and projection, for the native tests (their inputs: testmodels.Fixtures). */
public final class NativeTestSupport {
    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private NativeTestSupport() {}

    /** Reference RMSNorm in double: x / sqrt(mean(x^2) + eps) * gamma. */
    static double[] rmsNorm(float[] x, float[] gamma, double eps) {
        double sumSquares = 0;
        for (float v : x) sumSquares += (double) v * v;
        double scale = 1.0 / Math.sqrt(sumSquares / x.length + eps);
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) out[i] = x[i] * scale * gamma[i];
        return out;
    }

    /** All values of an F32 tensor. */
    static float[] f32(GgufFile file, String name) {
        GgufTensor t = file.tensor(name).orElseThrow(() -> new AssertionError("no tensor " + name + " in " + file.path()));
        assertEquals(GgmlType.F32, t.type(), name + " must be F32 for the reference");
        MemorySegment data = t.data();
        float[] out = new float[Math.toIntExact(t.elementCount())];
        for (int i = 0; i < out.length; i++) out[i] = data.getAtIndex(F32, i);
        return out;
    }

    /** W x for a GGUF matrix stored as rows of length x.length (ne0 = n_embd, ne1 = n_vocab). */
    static double[] project(float[] weight, double[] x) {
        int rows = weight.length / x.length;
        double[] out = new double[rows];
        for (int r = 0; r < rows; r++) {
            double sum = 0;
            int base = r * x.length;
            for (int c = 0; c < x.length; c++) sum += weight[base + c] * x[c];
            out[r] = sum;
        }
        return out;
    }

    static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    static int argmax(double[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    static double maxAbs(float[] v) {
        double m = 0;
        for (float f : v) m = Math.max(m, Math.abs(f));
        return m;
    }

    /** max_i |a_i - b_i| / max(max_i |b_i|, tiny). */
    static double relativeMaxDiff(float[] actual, double[] expected) {
        double diff = 0, scale = 1e-30;
        for (int i = 0; i < actual.length; i++) {
            diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
            scale = Math.max(scale, Math.abs(expected[i]));
        }
        return diff / scale;
    }
}
