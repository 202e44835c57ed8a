package dev.gguflens.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gguflens.gguf.GgmlType;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The SIMD decoders against the scalar ones: same float bits for every input (checked exhaustively for F16/BF16). */
class VectorDecoderTest {

    @Test
    void enabledAtEveryWidthFrom128Bits() {
        boolean expected = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 128
                && !Boolean.getBoolean("gguflens.quant.scalar");
        assertEquals(expected, VectorDecoder.ENABLED, "at " + VectorDecoder.L + " float lanes");
    }

    @ParameterizedTest
    @EnumSource(names = {"F16", "BF16"})
    void allSixteenBitPatternsDecodeLikeScalar(GgmlType type) {
        assertTrue(VectorDecoder.handles(type) || !VectorDecoder.ENABLED);
        int n = 65536 + 3;  // a tail that is not a multiple of the vector width
        byte[] raw = new byte[2 * n];
        for (int i = 0; i < n; i++) {
            raw[2 * i] = (byte) i;
            raw[2 * i + 1] = (byte) (i >> 8);
        }
        float[] vec = new float[n], scalar = new float[n];
        BlockDecoder.decode(type, raw, 0, vec, 0, n);
        BlockDecoder.decodeScalar(type, raw, 0, scalar, 0, n);
        for (int i = 0; i < n; i++) {
            assertEquals(Float.floatToRawIntBits(scalar[i]), Float.floatToRawIntBits(vec[i]),
                    type + " pattern 0x" + Integer.toHexString(i & 0xFFFF));
        }
        if (type == GgmlType.F16) {
            for (int i = 0; i < 65536; i++) {
                assertEquals(Float.floatToRawIntBits(Float.float16ToFloat((short) i)), Float.floatToRawIntBits(vec[i]));
            }
        }
    }

    @ParameterizedTest
    @EnumSource(names = {"Q8_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K"})
    void randomBlocksDecodeLikeScalar(GgmlType type) {
        assertTrue(VectorDecoder.handles(type) || !VectorDecoder.ENABLED, type + " has no vector decoder");
        Random rnd = new Random(11);
        int blocks = 200;
        byte[] raw = new byte[blocks * type.typeSize + 5];
        rnd.nextBytes(raw);  // any scale, NaN and Inf included
        float[] vec = new float[blocks * type.blockSize], scalar = new float[vec.length];
        BlockDecoder.decode(type, raw, 5, vec, 0, blocks);
        BlockDecoder.decodeScalar(type, raw, 5, scalar, 0, blocks);
        for (int i = 0; i < vec.length; i++) {
            // floatToIntBits: NaN payloads from arithmetic on NaN scales are not specified, NaN-ness is
            assertEquals(Float.floatToIntBits(scalar[i]), Float.floatToIntBits(vec[i]), type + " element " + i);
        }
    }
}
