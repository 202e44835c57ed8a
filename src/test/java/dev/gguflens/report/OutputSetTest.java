package dev.gguflens.report;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/** The atomic-output rule: staging names, failure, the stale sweep, and two writers of one set. */
@Timeout(120)
class OutputSetTest {
    static final long PID = ProcessHandle.current().pid();

    static List<String> names(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void stagedFilesCarryThePidAndAppearTogether(@TempDir Path dir) throws IOException {
        try (OutputSet set = OutputSet.in(dir)) {
            set.text("a.txt", w -> w.write("one"));
            set.binary("b.bin", out -> out.write(new byte[] {1, 2, 3}));
            List<String> staged = names(dir);
            assertEquals(2, staged.size(), staged.toString());
            for (String name : staged) {
                assertTrue(name.matches("\\.(a\\.txt|b\\.bin)\\." + PID + "-[0-9a-z]+\\.partial"), name);
            }
            assertEquals(2, OutputSet.liveStaged().stream().filter(p -> p.startsWith(dir)).count(), "the shutdown hook knows them");
            set.publish();
        }
        assertEquals(List.of("a.txt", "b.bin"), names(dir));
        assertEquals("one", Files.readString(dir.resolve("a.txt")));
        assertArrayEquals(new byte[] {1, 2, 3}, Files.readAllBytes(dir.resolve("b.bin")));
        assertTrue(OutputSet.liveStaged().stream().noneMatch(p -> p.startsWith(dir)));
        String mode = java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("a.txt")));
        assertEquals('r', mode.charAt(6), "a published report is readable like any other file: " + mode);
    }

    @Test
    void aFailedSetLeavesNothing(@TempDir Path dir) throws IOException {
        try (OutputSet set = OutputSet.in(dir)) {
            set.text("a.txt", out -> out.write("complete"));
            assertThrows(IOException.class, () -> set.text("b.txt", out -> {
                out.write("half");
                throw new IOException("disk full");
            }));
        }
        assertEquals(List.of(), names(dir));
        OutputSet.writeText(dir.resolve("c.txt"), "x");
        assertEquals("x", Files.readString(dir.resolve("c.txt")));
        assertEquals(List.of("c.txt"), names(dir));
        IOException missing = assertThrows(IOException.class, () -> OutputSet.writeText(dir.resolve("no/c.txt"), "x"));
        assertTrue(missing.getMessage().contains("does not exist"), missing.getMessage());
    }

    @Test
    void theSweepRemovesOnlyStagingWhoseOwnerIsGone(@TempDir Path dir) throws Exception {
        Process live = new ProcessBuilder("sleep", "60").start();
        try {
            Instant hourAgo = Instant.now().minus(Duration.ofHours(1));
            // pid far above any kernel's pid_max: no such process
            Path dead = Files.writeString(dir.resolve(".a.txt.999999999-k3x.partial"), "x");
            // a running process that started before the file was written: its owner, kept
            Path liveOwner = Files.writeString(dir.resolve(".b.txt." + live.pid() + "-k3x.partial"), "x");
            // the same running pid, but the file is older than the process: the pid was reused, swept
            Path reused = Files.writeString(dir.resolve(".c.txt." + live.pid() + "-z9.partial"), "x");
            Files.setLastModifiedTime(reused, FileTime.from(hourAgo));
            Path own = Files.writeString(dir.resolve(".d.txt." + PID + "-k3x.partial"), "x");
            Path legacyOld = Files.writeString(dir.resolve(".e.txt.1234567890123.partial"), "x");
            Files.setLastModifiedTime(legacyOld, FileTime.from(Instant.now().minus(OutputSet.LEGACY_AGE).minusSeconds(60)));
            Path legacyFresh = Files.writeString(dir.resolve(".f.txt.1234567890123.partial"), "x");
            Path unrelated = Files.writeString(dir.resolve(".notes.partial"), "x");

            assertEquals(2, OutputSet.sweepStale(dir));
            assertFalse(Files.exists(dead));
            assertFalse(Files.exists(reused));
            for (Path kept : List.of(liveOwner, own, legacyOld, legacyFresh, unrelated)) assertTrue(Files.exists(kept), kept.toString());

            // staging e.txt sweeps the old pid-less staging of e.txt only
            try (OutputSet set = OutputSet.in(dir)) {
                set.text("e.txt", w -> w.write("new"));
                set.text("g.txt", w -> w.write("new"));
                set.publish();
            }
            assertFalse(Files.exists(legacyOld));
            assertTrue(Files.exists(legacyFresh));
            Files.delete(own);
        } finally {
            live.destroy();
        }
    }

    /** Two threads publish sets of the same 40 names again and again; after each round the set is one writer's. */
    @Test
    void concurrentPublishesInOneProcessNeverMix(@TempDir Path dir) throws Exception {
        int files = 40;
        CyclicBarrier barrier = new CyclicBarrier(2);
        List<Throwable> failures = new ArrayList<>();
        Runnable[] writers = new Runnable[2];
        for (int w = 0; w < 2; w++) {
            String content = "writer " + w;
            writers[w] = () -> {
                try {
                    for (int round = 0; round < 15; round++) {
                        try (OutputSet set = OutputSet.in(dir)) {
                            for (int i = 0; i < files; i++) set.text("f" + i + ".txt", out -> out.write(content));
                            barrier.await(30, TimeUnit.SECONDS);
                            set.publish();
                        }
                        barrier.await(30, TimeUnit.SECONDS);
                        if (content.endsWith("0")) {
                            Set<String> seen = new HashSet<>();
                            for (int i = 0; i < files; i++) seen.add(Files.readString(dir.resolve("f" + i + ".txt")));
                            assertEquals(1, seen.size(), "round " + round + ": a mix of " + seen);
                        }
                        barrier.await(30, TimeUnit.SECONDS);
                    }
                } catch (Throwable t) {
                    synchronized (failures) {
                        failures.add(t);
                    }
                    barrier.reset();
                }
            };
        }
        Thread a = new Thread(writers[0]), b = new Thread(writers[1]);
        a.start();
        b.start();
        a.join();
        b.join();
        assertEquals(List.of(), failures);
        assertEquals(files, names(dir).size(), "no staged file left: " + names(dir));
    }

    /** A set of several files is published under the directory's lock, which another process respects. */
    @Test
    void anotherProcessWaitsForTheSetLock(@TempDir Path dir) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child;
        try (FileChannel channel = FileChannel.open(OutputSet.lockFile(dir), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
             FileLock ignored = channel.lock()) {
            child = new ProcessBuilder(java, "-Xmx64m", "-cp", System.getProperty("java.class.path"),
                    OutputSetChild.class.getName(), dir.toString(), "child").redirectErrorStream(true).start();
            BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
            assertEquals("staged", out.readLine());
            Thread.sleep(1000);
            assertTrue(child.isAlive(), "the child waits for the lock");
            assertFalse(Files.exists(dir.resolve("a.txt")) || Files.exists(dir.resolve("b.txt")),
                    "nothing published while another holds the lock");
        }
        assertTrue(child.waitFor(60, TimeUnit.SECONDS), "the child finishes once the lock is free");
        assertEquals(0, child.exitValue());
        assertEquals("child", Files.readString(dir.resolve("a.txt")));
        assertEquals(List.of("a.txt", "b.txt"), names(dir));
    }
}
