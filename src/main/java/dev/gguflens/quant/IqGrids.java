package dev.gguflens.quant;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/**
 * The i-quant codebooks of ggml (iq2xxs/iq2xs/iq2s/iq3xxs/iq3s/iq1s grids), read from the resource that
 * scripts/gen-iq-grids.py extracts from ggml-common.h. Each grid entry is expanded to one float per byte,
 * so decoders multiply by the table value directly (exact: the bytes are small integers).
 */
final class IqGrids {
    static final float[] IQ2XXS;   // 256 x 8
    static final float[] IQ2XS;    // 512 x 8
    static final float[] IQ2S;     // 1024 x 8
    static final float[] IQ3XXS;   // 256 x 4
    static final float[] IQ3S;     // 512 x 4
    static final float[] IQ1S;     // 2048 x 8, signed bytes (-1, 0, 1)
    /** ksigns_iq2xs: 7 sign bits plus an 8th that makes the parity even. */
    static final int[] KSIGNS = new int[128];

    private static final String RESOURCE = "iq-grids.raw";

    static {
        byte[] blob;
        try (InputStream in = IqGrids.class.getResourceAsStream(RESOURCE)) {
            if (in == null) throw new IllegalStateException("resource " + RESOURCE + " is missing from the classpath");
            blob = in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read resource " + RESOURCE, e);
        }
        int expected = 256 * 8 + 512 * 8 + 1024 * 8 + 256 * 4 + 512 * 4 + 2048 * 8;
        if (blob.length != expected) {
            throw new IllegalStateException("resource " + RESOURCE + " has " + blob.length + " bytes, expected " + expected);
        }
        int[] pos = {0};
        IQ2XXS = take(blob, pos, 256 * 8, false);
        IQ2XS = take(blob, pos, 512 * 8, false);
        IQ2S = take(blob, pos, 1024 * 8, false);
        IQ3XXS = take(blob, pos, 256 * 4, false);
        IQ3S = take(blob, pos, 512 * 4, false);
        IQ1S = take(blob, pos, 2048 * 8, true);
        for (int i = 0; i < 128; i++) KSIGNS[i] = i | ((Integer.bitCount(i) & 1) << 7);
    }

    private static float[] take(byte[] blob, int[] pos, int n, boolean signed) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            byte b = blob[pos[0] + i];
            out[i] = signed ? b : (b & 0xFF);
        }
        pos[0] += n;
        return out;
    }

    private IqGrids() {
    }
}
