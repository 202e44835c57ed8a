package dev.gguflens.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

class ParallelForTest {
    @Test
    void everyIndexRunsExactlyOnceWhateverTheThreadCount() {
        for (int threads : new int[] {1, 2, 3, 8}) {
            for (int n : new int[] {0, 1, 5, 1000}) {
                AtomicIntegerArray runs = new AtomicIntegerArray(Math.max(n, 1));
                ParallelFor.each(n, threads, i -> runs.incrementAndGet(i));
                for (int i = 0; i < n; i++) assertEquals(1, runs.get(i), "index " + i + " of " + n + ", " + threads + " threads");
            }
        }
    }

    @Test
    void partZeroRunsOnTheCallerAndTheOthersAtTheSameTime() throws InterruptedException {
        Thread[] ranOn = new Thread[3];
        // Every part waits for all three to have started: this only ends if they really run concurrently.
        CountDownLatch started = new CountDownLatch(3);
        ParallelFor.parts(3, p -> {
            ranOn[p] = Thread.currentThread();
            started.countDown();
            try {
                assertTrue(started.await(30, TimeUnit.SECONDS), "part " + p + " waited alone");
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        assertSame(Thread.currentThread(), ranOn[0]);
        assertTrue(ranOn[1] != ranOn[0] && ranOn[2] != ranOn[0] && ranOn[1] != ranOn[2]);
        assertTrue(ranOn[1].isDaemon(), "pool threads must not keep the JVM alive");
    }

    @Test
    void aFailureIsRethrownAfterEveryPartHasEnded() {
        AtomicIntegerArray finished = new AtomicIntegerArray(4);
        var e = assertThrows(IllegalArgumentException.class, () -> ParallelFor.parts(4, p -> {
            if (p == 2) throw new IllegalArgumentException("part 2 failed");
            try {
                Thread.sleep(50);
            } catch (InterruptedException ie) {
                throw new IllegalStateException(ie);
            }
            finished.set(p, 1);
        }));
        assertEquals("part 2 failed", e.getMessage());
        for (int p : new int[] {0, 1, 3}) assertEquals(1, finished.get(p), "part " + p + " had not ended");
        assertThrows(IllegalArgumentException.class, () -> ParallelFor.each(3, 0, i -> { }));
    }
}
