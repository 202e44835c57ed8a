package dev.gguflens.report;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one rule for every file the tool writes (probe and compare reports, images, quantised models): the files
 * of one output set are staged beside their targets as {@code .<name>.<pid>-<random>.partial} and renamed into
 * place together by {@link #publish()}, so a reader never sees a half-written file and a failed run leaves
 * nothing.
 * <ul>
 * <li>Failure: {@link #close()} without a publish deletes the staged files.</li>
 * <li>SIGINT/SIGTERM: one shutdown hook deletes every file this process has staged and not yet published; a
 * publish already under way finishes first, so an interrupted run leaves the old set or the new one.</li>
 * <li>SIGKILL or a crash: nothing runs in the process, so opening a set sweeps its directory of staged files
 * whose owner is gone: the pid in the name is not running, or the process now holding that pid started after
 * the file was last written (the pid was reused). Files of the earlier {@code .<name>.<digits>.partial} form,
 * which carry no pid, are swept after {@link #LEGACY_AGE}.</li>
 * <li>Two runs writing the same set: a set of several files is published under an exclusive file lock on its
 * directory, so the renames of two runs never interleave and the set is entirely one run's (the later one's).
 * The lock is the OS's (fcntl via {@link FileChannel#lock()}), released by the kernel when a process dies, so a
 * killed run never blocks the next. Its file lives in the temporary directory, named by a hash of the output
 * directory's real path, rather than in the output directory: a lock file can only be deleted safely by a
 * protocol Java cannot express (it has no fstat), and a kept one would litter every --out folder. Replacing a
 * whole directory instead was ruled out because --out may hold other models' sets and the user's own files.</li>
 * <li>A set that replaces a family of files ({@link #replacing}): publishing deletes, under the same lock, the
 * family's files this set did not write, so a probe of 3 prompts into a folder that held one of 12 leaves
 * {@code -p001..-p003}, not a stale {@code -p004..-p012} that looks like part of it.</li>
 * </ul>
 */
public final class OutputSet implements AutoCloseable {
    /** Staged files without a pid (written before this rule) older than this are taken for a killed run's. */
    static final Duration LEGACY_AGE = Duration.ofHours(6);

    @FunctionalInterface
    public interface TextContent {
        void writeTo(Writer out) throws IOException;
    }

    @FunctionalInterface
    public interface BinaryContent {
        void writeTo(OutputStream out) throws IOException;
    }

    /** A writer that needs a path (a native library): it writes the staged file, which exists and is empty. */
    @FunctionalInterface
    public interface FileContent {
        void writeTo(Path staged) throws IOException;
    }

    private static final Pattern STAGED = Pattern.compile("^\\.(.+)\\.(\\d+)-[0-9a-z]+\\.partial$");
    private static final Pattern LEGACY = Pattern.compile("^\\.(.+)\\.\\d{6,}\\.partial$");
    private static final long PID = ProcessHandle.current().pid();
    /**
     * For the interruption tests only (system property {@code gguflens.outputs.stallMillis}): a pause after each
     * staged file is written, so that a test can signal a real run while its files are staged. 0 otherwise.
     */
    private static final long STALL_MILLIS = Long.getLong("gguflens.outputs.stallMillis", 0);

    /** Every file this process has staged and not published or deleted; guarded by itself. */
    private static final Set<Path> LIVE = new LinkedHashSet<>();
    private static boolean shuttingDown;
    /** One publish at a time in this process (two FileChannel locks on one file in one JVM would throw). */
    private static final ReentrantLock PUBLISHING = new ReentrantLock();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(OutputSet::deleteAllStaged, "gguf-lens-staged-outputs"));
    }

    private final Path dir;
    private final Map<Path, Path> stagedByTarget = new LinkedHashMap<>();
    private Pattern family;
    private boolean published;

    private OutputSet(Path dir) {
        this.dir = dir;
    }

    /** A set of files in {@code dir} (which must exist); sweeps the files that killed runs left staged there. */
    public static OutputSet in(Path dir) throws IOException {
        Path absolute = dir.toAbsolutePath();
        if (!Files.isDirectory(absolute)) throw new IOException(dir + ": directory does not exist");
        sweepStale(absolute);
        return new OutputSet(absolute);
    }

    /** Writes one text file through the same rule. */
    public static void writeText(Path file, String text) throws IOException {
        writeText(file, out -> out.write(text));
    }

    /** Writes one text file through the same rule. */
    public static void writeText(Path file, TextContent content) throws IOException {
        try (OutputSet set = in(parentOf(file))) {
            set.text(file.getFileName().toString(), content);
            set.publish();
        }
    }

    /** Writes one binary file through the same rule. */
    public static void writeBinary(Path file, BinaryContent content) throws IOException {
        try (OutputSet set = in(parentOf(file))) {
            set.binary(file.getFileName().toString(), content);
            set.publish();
        }
    }

    /** Writes one file whose writer needs a path (llama.cpp's quantiser) through the same rule. */
    public static void writeFile(Path file, FileContent content) throws IOException {
        try (OutputSet set = in(parentOf(file))) {
            set.file(file.getFileName().toString(), content);
            set.publish();
        }
    }

    /**
     * Creates {@code dir} if needed and proves it writable (a staged file is created and deleted), so a run
     * fails before it loads a model rather than after.
     *
     * @throws IllegalArgumentException naming the directory and the reason
     */
    public static void requireWritableDirectory(Path dir) {
        try {
            Files.createDirectories(dir);
            Path probe = createStaged(dir.toAbsolutePath(), ".gguf-lens-write-test");
            unstage(probe);
        } catch (IOException | SecurityException | UncheckedIOException e) {
            throw new IllegalArgumentException(dir + ": not a writable directory (" + e.getClass().getSimpleName()
                    + (e.getMessage() == null ? "" : ": " + e.getMessage()) + ")");
        }
    }

    /** The directory of {@code file}. */
    public static Path parentOf(Path file) {
        Path parent = file.toAbsolutePath().getParent();
        return parent != null ? parent : file.toAbsolutePath().getRoot();
    }

    /** Stages a text file (UTF-8) called {@code name} in this set's directory. */
    public void text(String name, TextContent content) throws IOException {
        Path staged = stage(name);
        try (Writer out = Files.newBufferedWriter(staged, StandardCharsets.UTF_8, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            content.writeTo(out);
        }
        stallForTests();
    }

    /** Stages a binary file called {@code name}. */
    public void binary(String name, BinaryContent content) throws IOException {
        Path staged = stage(name);
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(staged, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING))) {
            content.writeTo(out);
        }
        stallForTests();
    }

    /** Stages a file called {@code name} that {@code content} writes by path. */
    public void file(String name, FileContent content) throws IOException {
        content.writeTo(stage(name));
        stallForTests();
    }

    private static void stallForTests() {
        if (STALL_MILLIS <= 0) return;
        try {
            Thread.sleep(STALL_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * This set replaces every file in its directory whose whole name matches {@code family}: on publish, the
     * matching files this set did not write are deleted (a previous run's larger set of the same model).
     */
    public OutputSet replacing(Pattern family) {
        this.family = family;
        return this;
    }

    /** The targets staged so far, in order. */
    public List<Path> targets() {
        return List.copyOf(stagedByTarget.keySet());
    }

    /** Renames every staged file onto its target; with several files, under the directory's lock. */
    public void publish() throws IOException {
        if (published) throw new IllegalStateException("output set in " + dir + " already published");
        PUBLISHING.lock();
        try {
            if (stagedByTarget.size() > 1 || family != null) {
                try (FileChannel channel = FileChannel.open(lockFile(dir), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                     FileLock ignored = channel.lock()) {
                    moveAll();
                }
            } else {
                moveAll();
            }
        } finally {
            PUBLISHING.unlock();
        }
    }

    private void moveAll() throws IOException {
        synchronized (LIVE) {
            if (shuttingDown) throw new IOException("interrupted: " + dir + " not written");
            for (Map.Entry<Path, Path> e : stagedByTarget.entrySet()) {
                Path staged = e.getValue();
                try {
                    Files.move(staged, e.getKey(), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (AtomicMoveNotSupportedException notAtomic) {
                    Files.move(staged, e.getKey(), StandardCopyOption.REPLACE_EXISTING);
                }
                LIVE.remove(staged);
            }
            published = true;
        }
        if (family != null) removeRestOfFamily();
    }

    /** Deletes the files of this set's family that it did not write (called under the directory's lock). */
    private void removeRestOfFamily() throws IOException {
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path p : entries) {
                if (family.matcher(p.getFileName().toString()).matches() && !stagedByTarget.containsKey(p)
                        && Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    /** Without a publish, deletes every staged file: a failed run leaves nothing behind. */
    @Override
    public void close() {
        if (published) return;
        for (Path staged : stagedByTarget.values()) unstage(staged);
        stagedByTarget.clear();
    }

    private Path stage(String name) throws IOException {
        if (name.isEmpty() || name.contains("/") || name.contains("\\") || name.equals(".") || name.equals("..")) {
            throw new IllegalArgumentException("output name '" + name + "' is not a plain file name");
        }
        Path target = dir.resolve(name);
        if (stagedByTarget.containsKey(target)) throw new IllegalArgumentException(target + " is staged twice");
        sweepLegacy(dir, name);
        Path staged = createStaged(dir, name);
        stagedByTarget.put(target, staged);
        return staged;
    }

    /** Creates an empty staged file for {@code name} and records it for the shutdown hook, atomically with it. */
    private static Path createStaged(Path dir, String name) throws IOException {
        synchronized (LIVE) {
            if (shuttingDown) throw new IOException("interrupted: " + dir.resolve(name) + " not written");
            while (true) {
                String random = Long.toString(ThreadLocalRandom.current().nextLong() >>> 1, 36);
                Path staged = dir.resolve("." + name + "." + PID + "-" + random + ".partial");
                try {
                    Files.createFile(staged);
                } catch (FileAlreadyExistsException taken) {
                    continue;
                }
                LIVE.add(staged);
                return staged;
            }
        }
    }

    private static void unstage(Path staged) {
        synchronized (LIVE) {
            try {
                Files.deleteIfExists(staged);
            } catch (IOException ignored) {
                // best effort: the file is hidden, marked .partial, and the next run sweeps it
            }
            LIVE.remove(staged);
        }
    }

    /** The shutdown hook: deletes what this process staged and did not publish; no staging after it. */
    static void deleteAllStaged() {
        synchronized (LIVE) {
            shuttingDown = true;
            for (Path staged : LIVE) {
                try {
                    Files.deleteIfExists(staged);
                } catch (IOException | RuntimeException ignored) {
                    // best effort while the JVM exits; the next run sweeps it
                }
            }
            LIVE.clear();
        }
    }

    /**
     * Deletes the staged files in {@code dir} whose owner is gone (see the class comment); returns how many.
     * Files of this process and of live owners are kept.
     */
    static int sweepStale(Path dir) {
        int swept = 0;
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir, ".*.partial")) {
            for (Path p : entries) {
                Matcher m = STAGED.matcher(p.getFileName().toString());
                if (!m.matches()) continue;
                long pid;
                try {
                    pid = Long.parseLong(m.group(2));
                } catch (NumberFormatException e) {
                    continue;
                }
                if (pid == PID) continue;
                try {
                    if (!ownerAlive(pid, Files.getLastModifiedTime(p)) && Files.deleteIfExists(p)) swept++;
                } catch (IOException ignored) {
                    // gone already, or not ours to delete
                }
            }
        } catch (IOException | UncheckedIOException ignored) {
            // an unreadable directory: staging there fails with its own message
        }
        return swept;
    }

    private static boolean ownerAlive(long pid, FileTime lastWritten) {
        Optional<ProcessHandle> process = ProcessHandle.of(pid);
        if (process.isEmpty() || !process.get().isAlive()) return false;
        Optional<Instant> started = process.get().info().startInstant();
        return started.isEmpty() || !started.get().isAfter(lastWritten.toInstant());
    }

    /** Staged files of {@code name} without a pid, from before this rule, older than {@link #LEGACY_AGE}. */
    private static void sweepLegacy(Path dir, String name) {
        Instant cutoff = Instant.now().minus(LEGACY_AGE);
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir, "." + globEscape(name) + ".*.partial")) {
            for (Path p : entries) {
                Matcher m = LEGACY.matcher(p.getFileName().toString());
                if (!m.matches() || !m.group(1).equals(name)) continue;
                try {
                    if (Files.getLastModifiedTime(p).toInstant().isBefore(cutoff)) Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // not ours to delete
                }
            }
        } catch (IOException | RuntimeException ignored) {
            // an unreadable directory: staging there fails with its own message
        }
    }

    private static String globEscape(String name) {
        return name.replaceAll("([\\\\*?\\[\\]{}])", "\\\\$1");
    }

    /** The lock file of {@code dir}'s output sets: in the temporary directory, per user, named by the real path's hash. */
    static Path lockFile(Path dir) throws IOException {
        Path locks = Path.of(System.getProperty("java.io.tmpdir"),
                "gguf-lens-locks-" + System.getProperty("user.name", "user").replaceAll("[^A-Za-z0-9._-]", "_"));
        Files.createDirectories(locks);
        try {
            byte[] hash = MessageDigest.getInstance("SHA-256")
                    .digest(dir.toRealPath().toString().getBytes(StandardCharsets.UTF_8));
            return locks.resolve(HexFormat.of().formatHex(hash, 0, 16) + ".lock");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
    }

    /** For tests: the staged files this process holds now. */
    static List<Path> liveStaged() {
        synchronized (LIVE) {
            return new ArrayList<>(LIVE);
        }
    }
}
