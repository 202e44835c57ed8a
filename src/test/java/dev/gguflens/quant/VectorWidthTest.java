package dev.gguflens.quant;

import static org.junit.jupiter.api.Assertions.assertTrue;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

/**
 * Says in the test log which vector width the kernels ran at in this JVM, and checks the cap the build asked for
 * (-XX:MaxVectorSize in the pom's 128- and 256-bit executions) took effect; without a cap it is the CPU's own.
 */
class VectorWidthTest {
    @Test
    void kernelsRunAtTheRequestedWidth() {
        int bits = FloatVector.SPECIES_PREFERRED.vectorBitSize();
        String cap = System.getProperty("gguflens.test.maxVectorBits");
        System.out.println("gguf-lens kernel tests: " + bits + "-bit vectors ("
                + (cap == null ? "this CPU's native width" : "capped at " + cap + " bits") + ", "
                + System.getProperty("os.arch") + ")");
        if (cap != null) assertTrue(bits <= Integer.parseInt(cap), bits + "-bit vectors despite a cap of " + cap);
    }
}
