package dev.gguflens.download;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Downloads one hub file to its place under the models directory, resumably and verified.
 *
 * <p>Bytes go to {@code <file>.part} (locked against a second gguf-lens downloading the same file); a leftover
 * {@code .part} is continued with {@code Range: bytes=N-} when the server answers 206, restarted when it answers 200.
 * Only once the whole file has the hub's size and SHA-256 is it renamed, atomically, to its final name, and a
 * {@code <file>.sha256} note (sha256sum format, plus a {@code # size N} comment line) is written so later runs need
 * not hash gigabytes again. The note vouches for the file only while it records the file's size and is newer
 * than the file's last change (its modification and its status-change time: a copy corrupted and then given an
 * old modification time still has a new change time); otherwise, or when asked ({@code pull --verify}), the
 * file is hashed again.
 *
 * <p>A file whose SHA-256 differs from the hub's is deleted, not kept: the next run starts afresh rather than
 * resuming from bytes that are known to be wrong somewhere.
 */
final class FileDownloader {

    private static final int BUFFER = 1 << 20;
    private static final Pattern CONTENT_RANGE = Pattern.compile("bytes\\s+(\\d+)-(\\d+)/(\\d+|\\*)");

    private final HubClient client;
    private final HubConfig config;
    private final DownloadListener listener;
    private final boolean rehash;

    FileDownloader(HubClient client, HubConfig config, DownloadListener listener) {
        this(client, config, listener, false);
    }

    /** With {@code rehash}, a present file is hashed again whatever its note says. */
    FileDownloader(HubClient client, HubConfig config, DownloadListener listener, boolean rehash) {
        this.client = client;
        this.config = config;
        this.listener = listener;
        this.rehash = rehash;
    }

    /** Where {@code file} of {@code ref} lives locally: {@code <models>/<owner>--<repo>/<path>}. */
    static Path localPath(HubConfig config, ModelRef ref, HubFile file) throws DownloadException {
        Path dir = config.modelsDir().resolve(ref.localDirName()).toAbsolutePath().normalize();
        Path target = dir.resolve(file.path()).normalize();
        if (!target.startsWith(dir) || target.equals(dir) || file.path().startsWith("/") || file.path().contains("\\"))
            throw new DownloadException("the hub lists an unsafe file path in " + ref.repoId() + ": '" + file.path() + "'");
        return target;
    }

    /** Makes {@code file} present and verified at its local path, downloading as needed; returns that path. */
    Path fetch(ModelRef ref, HubFile file) throws DownloadException {
        Path target = localPath(config, ref, file);
        if (Files.isRegularFile(target)) {
            String why = whyLocalCopyIsStale(target, file);
            if (why == null) {
                listener.note(target.getFileName() + " is already present and verified: " + target);
                return target;
            }
            listener.note("local " + target.getFileName() + " " + why + "; downloading it again");
        }
        URI url = client.fileUrl(ref, file.path());
        Path part = target.resolveSibling(target.getFileName() + ".part");
        try {
            Files.createDirectories(target.getParent());
        } catch (IOException e) {
            throw new DownloadException("cannot create " + target.getParent() + ": " + HubClient.describe(e), e);
        }
        String actual;
        try (FileChannel channel = FileChannel.open(part, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            FileLock lock;
            try {
                lock = channel.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null;
            }
            if (lock == null)
                throw new DownloadException("another download of " + target.getFileName() + " is in progress (" + part + " is locked)");
            actual = transfer(url, file, target, part, channel);
        } catch (DownloadException e) {
            throw e;
        } catch (IOException e) {
            throw new DownloadException("cannot write " + part + ": " + HubClient.describe(e), e);
        }
        try {
            if (file.sha256() != null && !file.sha256().equals(actual)) {
                Files.deleteIfExists(part);
                throw new DownloadException("sha256 mismatch for " + file.path() + " from " + url + ": expected " + file.sha256()
                        + ", got " + actual + "; the download was deleted, run again to fetch it afresh");
            }
            moveIntoPlace(part, target);
            if (file.sha256() != null) writeChecksumNote(target, file.sha256());
        } catch (DownloadException e) {
            throw e;
        } catch (IOException e) {
            throw new DownloadException("cannot move " + part + " to " + target + ": " + HubClient.describe(e), e);
        }
        return target;
    }

    /** Streams the file into {@code part} (resuming, retrying) and returns the SHA-256 of all of it. */
    private String transfer(URI url, HubFile file, Path target, Path part, FileChannel channel) throws IOException {
        long size = file.size();
        for (int attempt = 1; ; attempt++) {
            long have = channel.size();
            if (size >= 0 && have > size) {
                channel.truncate(0);
                have = 0;
            }
            ensureSpace(part, size < 0 ? 0 : size - have);
            MessageDigest sha = sha256();
            hashPrefix(channel, have, sha);
            if (size >= 0 && have == size && size > 0) return HexFormat.of().formatHex(sha.digest());
            if (have > 0 && attempt == 1) listener.note("resuming " + file.fileName() + " at " + have + " of " + size + " bytes");
            HttpResponse<InputStream> response;
            try {
                response = client.send(url, have, "file " + file.path());
            } catch (HubUnreachableException e) {
                throw new DownloadException(e.getMessage() + ": download the file by hand from " + url + " and place it at " + target, e);
            } catch (HubClient.RetryableDownloadException e) {
                if (attempt >= config.attempts()) throw e;
                listener.note(e.getMessage() + "; trying again (" + (attempt + 1) + " of " + config.attempts() + ")");
                pause(attempt);
                continue;
            }
            switch (response.statusCode()) {
                case 206 -> {
                    long start = contentRangeStart(response);
                    if (start != have) {
                        response.body().close();
                        throw new DownloadException("the server resumed " + url + " at byte " + start + " instead of " + have);
                    }
                }
                case 200 -> {
                    // The server ignored Range (or none was sent): start over.
                    if (have > 0) listener.note("the server cannot resume " + file.fileName() + "; starting over");
                    channel.truncate(0);
                    have = 0;
                    sha = sha256();
                }
                default -> { // 416: our .part does not fit the server's file; start over on the next try
                    response.body().close();
                    channel.truncate(0);
                    if (attempt >= config.attempts())
                        throw new DownloadException("the server refused to resume " + url + " (416); deleted " + part + ", run again");
                    continue;
                }
            }
            long expectedBody = response.headers().firstValueAsLong("Content-Length").orElse(-1);
            if (size < 0 && expectedBody >= 0) size = have + expectedBody;
            long done = have;
            listener.started(file, have);
            try {
                done = copyBody(response.body(), channel, have, size, sha, file);
            } catch (IOException e) {
                done = channel.size();
                String reason = HubClient.describe(e);
                if (reason.equals("closed")) reason = "connection closed early"; // the JDK's terse wording
                if (attempt >= config.attempts())
                    throw new DownloadException("download of " + file.path() + " from " + url + " interrupted after " + done + " of " + size
                            + " bytes (" + reason + "): run the command again to resume from " + part, e);
                listener.note("download of " + file.fileName() + " interrupted after " + done + " of " + size + " bytes (" + reason
                        + "); resuming (" + (attempt + 1) + " of " + config.attempts() + ")");
                continue;
            } finally {
                listener.stopped(file);
            }
            if (size >= 0 && done != size) {
                if (attempt >= config.attempts())
                    throw new DownloadException("download of " + file.path() + " from " + url + " ended after " + done + " of " + size
                            + " bytes: run the command again to resume from " + part);
                listener.note("download of " + file.fileName() + " ended early at " + done + " of " + size + " bytes; resuming");
                continue;
            }
            channel.force(false);
            return HexFormat.of().formatHex(sha.digest());
        }
    }

    /** Copies the body to the channel's end; a body that stalls for the configured time is closed (an IOException). */
    private long copyBody(InputStream body, FileChannel channel, long have, long size, MessageDigest sha, HubFile file) throws IOException {
        AtomicLong lastByte = new AtomicLong(System.nanoTime());
        AtomicBoolean stalled = new AtomicBoolean();
        long stallNanos = config.stallTimeout().toNanos();
        Thread watchdog = Thread.ofVirtual().start(() -> {
            try {
                while (true) {
                    Thread.sleep(Math.max(10, Math.min(1000, stallNanos / 4_000_000)));
                    if (System.nanoTime() - lastByte.get() > stallNanos) {
                        stalled.set(true);
                        body.close();
                        return;
                    }
                }
            } catch (InterruptedException | IOException e) {
                // transfer over, or the stream is already gone
            }
        });
        long done = have;
        try (body) {
            channel.position(have);
            byte[] buffer = new byte[BUFFER];
            int n;
            while ((n = body.read(buffer)) >= 0) {
                if (n == 0) continue;
                lastByte.set(System.nanoTime());
                if (size >= 0 && done + n > size)
                    throw new DownloadException("the server sent more than the " + size + " bytes the hub lists for " + file.path());
                ByteBuffer chunk = ByteBuffer.wrap(buffer, 0, n);
                while (chunk.hasRemaining()) channel.write(chunk);
                sha.update(buffer, 0, n);
                done += n;
                listener.progress(file, done);
            }
        } catch (IOException e) {
            if (e instanceof DownloadException) throw e;
            if (stalled.get()) throw new IOException("no data for " + config.stallTimeout().toSeconds() + " s", e);
            throw e;
        } finally {
            watchdog.interrupt();
        }
        return done;
    }

    /** Null when {@code target} matches the hub's size and hash, else a short reason. */
    private String whyLocalCopyIsStale(Path target, HubFile file) throws DownloadException {
        try {
            long size = Files.size(target);
            if (file.size() >= 0 && size != file.size()) return "has " + size + " bytes, the hub lists " + file.size();
            if (file.sha256() == null || !rehash && hasChecksumNote(target, file.sha256(), size)) return null;
            listener.note("verifying " + target.getFileName() + " (sha256 of " + size + " bytes)");
            String actual = sha256Of(target);
            if (!actual.equals(file.sha256())) return "has sha256 " + actual + ", the hub lists " + file.sha256();
            writeChecksumNote(target, actual);
            return null;
        } catch (IOException e) {
            throw new DownloadException("cannot read " + target + ": " + HubClient.describe(e), e);
        }
    }

    /**
     * The note vouches for the file only if it names the expected hash, records the file's present size and is
     * not older than the file's last modification or status change.
     */
    private static boolean hasChecksumNote(Path target, String sha256, long size) throws IOException {
        Path note = checksumNote(target);
        if (!Files.isRegularFile(note) || Files.size(note) > 4096) return false;
        List<String> lines = Files.readAllLines(note, StandardCharsets.UTF_8);
        if (lines.isEmpty() || !lines.getFirst().startsWith(sha256 + " ")) return false;
        if (!lines.contains(SIZE_COMMENT + size)) return false;
        FileTime noted = Files.getLastModifiedTime(note);
        return noted.compareTo(lastChange(target)) >= 0;
    }

    /** The later of the modification time and (where the file system has one) the status-change time. */
    static FileTime lastChange(Path file) throws IOException {
        FileTime modified = Files.getLastModifiedTime(file);
        try {
            FileTime changed = (FileTime) Files.getAttribute(file, "unix:ctime");
            return changed.compareTo(modified) > 0 ? changed : modified;
        } catch (UnsupportedOperationException | IllegalArgumentException e) {
            return modified;
        }
    }

    /** sha256sum ignores lines starting with '#', so the size rides along in the same file. */
    static final String SIZE_COMMENT = "# size ";

    private static void writeChecksumNote(Path target, String sha256) throws IOException {
        Files.writeString(checksumNote(target), sha256 + "  " + target.getFileName() + "\n" + SIZE_COMMENT + Files.size(target) + "\n",
                StandardCharsets.UTF_8);
    }

    static Path checksumNote(Path target) {
        return target.resolveSibling(target.getFileName() + ".sha256");
    }

    static String sha256Of(Path file) throws IOException {
        MessageDigest sha = sha256();
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            hashPrefix(channel, channel.size(), sha);
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    private static void hashPrefix(FileChannel channel, long length, MessageDigest sha) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(BUFFER);
        long position = 0;
        while (position < length) {
            buffer.clear().limit((int) Math.min(BUFFER, length - position));
            int n = channel.read(buffer, position);
            if (n < 0) throw new IOException("file shrank while hashing");
            buffer.flip();
            sha.update(buffer);
            position += n;
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JDK has no SHA-256", e);
        }
    }

    private static long contentRangeStart(HttpResponse<?> response) throws DownloadException {
        String header = response.headers().firstValue("Content-Range").orElse(null);
        if (header == null) throw new DownloadException("the server answered 206 without Content-Range for " + response.uri());
        Matcher m = CONTENT_RANGE.matcher(header.strip());
        if (!m.matches()) throw new DownloadException("the server sent a malformed Content-Range '" + header + "' for " + response.uri());
        return Long.parseLong(m.group(1));
    }

    private static void ensureSpace(Path part, long needed) throws IOException {
        long usable = Files.getFileStore(part).getUsableSpace();
        if (needed > usable)
            throw new DownloadException("not enough disk space for " + part.getFileName() + ": " + needed + " more bytes needed, "
                    + usable + " free in " + part.getParent());
    }

    private static void moveIntoPlace(Path part, Path target) throws IOException {
        try {
            Files.move(part, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(part, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static void pause(int attempt) throws DownloadException {
        try {
            Thread.sleep(1000L * attempt);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DownloadException("interrupted while waiting to retry", e);
        }
    }
}
