package dev.gguflens.quant;

import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;

/**
 * The one thread pool of the Java kernels and the loops around them: {@link FusedMatmul}'s row ranges, the lens's
 * per-row statistics and the roofline measurement. Threads are daemons, created on demand and reused, so none
 * blocks JVM exit and none is started for work that runs on one thread; part 0 always runs on the caller's thread.
 */
public final class ParallelFor {
    private static final ExecutorService POOL = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "gguf-lens-worker");
        t.setDaemon(true);
        return t;
    });

    /** A thread that is never started: a memory segment readable by it is readable by the pool's threads. */
    static final Thread POOL_PROBE = Thread.ofPlatform().unstarted(() -> { });

    private ParallelFor() {
    }

    /**
     * Runs {@code part.accept(p)} for every p in [0, parts), part 0 on the caller's thread and the others on the
     * pool, and returns when all have finished. The first failure is rethrown (an unchecked exception or error
     * as it is) after every part has ended, so no part still runs when the caller sees it.
     */
    public static void parts(int parts, IntConsumer part) {
        if (parts < 1) throw new IllegalArgumentException("parallel for: parts must be >= 1, got " + parts);
        if (parts == 1) {
            part.accept(0);
            return;
        }
        @SuppressWarnings("unchecked")
        Future<?>[] futures = new Future<?>[parts - 1];
        for (int p = 1; p < parts; p++) {
            int index = p;
            futures[p - 1] = POOL.submit(() -> part.accept(index));
        }
        Throwable failure = null;
        try {
            part.accept(0);
        } catch (RuntimeException | Error e) {
            failure = e;
        }
        for (Future<?> f : futures) {
            try {
                f.get();
            } catch (ExecutionException e) {
                if (failure == null) failure = e.getCause();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                if (failure == null) failure = e;
            }
        }
        if (failure instanceof RuntimeException re) throw re;
        if (failure instanceof Error er) throw er;
        if (failure != null) throw new IllegalStateException("parallel for interrupted", failure);
    }

    /**
     * Runs {@code body.accept(i)} for every i in [0, n) on up to {@code threads} threads, each taking the next
     * index as it finishes one (indices of uneven cost balance themselves). Each index runs exactly once; the
     * order across threads is not fixed, so the body must write only what belongs to its index.
     */
    public static void each(int n, int threads, IntConsumer body) {
        if (threads < 1) throw new IllegalArgumentException("parallel for: threads must be >= 1, got " + threads);
        if (n <= 0) return;
        if (threads == 1 || n == 1) {
            for (int i = 0; i < n; i++) body.accept(i);
            return;
        }
        AtomicInteger next = new AtomicInteger();
        parts(Math.min(threads, n), p -> {
            for (int i = next.getAndIncrement(); i < n; i = next.getAndIncrement()) body.accept(i);
        });
    }
}
