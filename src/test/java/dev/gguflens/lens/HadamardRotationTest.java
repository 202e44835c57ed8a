package dev.gguflens.lens;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/** The un-rotation against the Walsh-Hadamard matrix written out in double, and llama.cpp's switch. */
class HadamardRotationTest {
    /** llama.cpp's ggml_gen_hadamard: Sylvester order, orthonormal. */
    private static double h(int i, int j) {
        return (Integer.bitCount(i & j) % 2 == 0 ? 1 : -1) / Math.sqrt(64);
    }

    @Test
    void everyBlockOf64IsMultipliedByTheHadamardMatrix() {
        SplittableRandom rnd = new SplittableRandom(3);
        float[][] rows = new float[3][192];
        for (float[] r : rows) for (int i = 0; i < r.length; i++) r[i] = (float) (rnd.nextDouble() * 4 - 2);
        float[][] out = HadamardRotation.unrotated(rows);
        for (int r = 0; r < rows.length; r++) {
            for (int b = 0; b < 192; b += 64) {
                for (int i = 0; i < 64; i++) {
                    double want = 0;
                    for (int j = 0; j < 64; j++) want += h(i, j) * rows[r][b + j];
                    assertEquals(want, out[r][b + i], 1e-5, "row " + r + " block " + b / 64 + " value " + i);
                }
            }
        }
        // H is its own inverse: rotating back restores the input, which is left untouched
        float[][] back = HadamardRotation.unrotated(out);
        for (int r = 0; r < rows.length; r++) for (int i = 0; i < 192; i++) assertEquals(rows[r][i], back[r][i], 1e-5);
        assertNotEquals(rows[0][0], out[0][0]);
        assertThrows(IllegalArgumentException.class, () -> HadamardRotation.unrotated(new float[][] {new float[96]}));
    }

    @Test
    void llamaRotatesOnlyQuantisedVWithHeadsOf64() {
        assertEquals(System.getenv("LLAMA_ATTN_ROT_DISABLE") == null, HadamardRotation.llamaRotatesV(true, 128));
        assertFalse(HadamardRotation.llamaRotatesV(false, 128));
        assertFalse(HadamardRotation.llamaRotatesV(true, 96));
        assertFalse(HadamardRotation.disabledByEnvironment(null));
        assertFalse(HadamardRotation.disabledByEnvironment("0"));
        assertFalse(HadamardRotation.disabledByEnvironment("no"));
        assertTrue(HadamardRotation.disabledByEnvironment("1"));
        assertTrue(HadamardRotation.disabledByEnvironment(" 2x"));
    }
}
