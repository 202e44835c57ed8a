package dev.gguflens.gguf;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** Data beyond 2 GiB is mapped, not copied: a sparse 3 GiB file costs no disk or heap. */
class GgufLargeFileTest {
    @TempDir
    Path tmp;

    @Test
    void tensorsPastTwoGibibytesAreMapped() throws Exception {
        long small = 64;
        long big = 3L << 30; // 3 GiB of I8 in one tensor: more than an int can index
        byte[] header = RawGguf.header(3, 2, 1).kvString("general.architecture", "toy")
                .tensor("small", new long[] {small}, GgmlType.I8.id, 0)
                .tensor("big", new long[] {big / 4, 4}, GgmlType.I8.id, 64)
                .pad(32).build();
        Path file = tmp.resolve("big.gguf");
        Files.write(file, header);
        long bigStart = header.length + 64;
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(bigStart + big); // sparse: nothing is written in between
            raf.seek(bigStart + big - 1);
            raf.write(0x5A);
            raf.seek(bigStart + (1L << 31) + 7);
            raf.write(0x33);
        }
        try (GgufFile g = GgufFile.open(file)) {
            GgufTensor t = g.tensor("big").orElseThrow();
            assertEquals(big, t.byteSize());
            assertEquals(bigStart, t.dataOffset());
            assertEquals(big, t.data().byteSize());
            assertEquals(0x5A, t.data().get(ValueLayout.JAVA_BYTE, big - 1));
            assertEquals(0x33, t.data().get(ValueLayout.JAVA_BYTE, (1L << 31) + 7));
            assertEquals(bigStart + big, g.fileSize());
        }
    }
}
