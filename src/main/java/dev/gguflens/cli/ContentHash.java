package dev.gguflens.cli;

import dev.gguflens.report.OutputSet;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.concurrent.TimeUnit;

/**
 * The SHA-256 of a file's bytes, remembered under a key of its real path, size and modification time, so that a
 * multi-GB model is read once (seconds per GB) rather than on every run. A file rewritten in place with the same
 * size and the same modification time keeps its old hash: the trade make and rsync make too.
 */
final class ContentHash {
    private static final int BUFFER = 1 << 20;

    private ContentHash() {}

    /** Hex SHA-256 of {@code file}'s content; {@code memoDir} keeps the hashes already computed. */
    static String of(Path file, Path memoDir) {
        try {
            Path real = file.toRealPath();
            BasicFileAttributes attributes = Files.readAttributes(real, BasicFileAttributes.class);
            String identity = real + "\n" + attributes.size() + "\n" + attributes.lastModifiedTime().to(TimeUnit.NANOSECONDS);
            Path memo = memoDir.resolve(hex(sha256().digest(identity.getBytes(StandardCharsets.UTF_8))).substring(0, 32));
            try {
                String known = Files.readString(memo).strip();
                if (known.matches("[0-9a-f]{64}")) return known;
            } catch (NoSuchFileException e) {
                // not hashed yet
            }
            String hash = hashOf(real);
            Files.createDirectories(memoDir);
            OutputSet.writeText(memo, hash + "\n");
            return hash;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot hash " + file + ": " + e.getMessage(), e);
        }
    }

    static String hashOf(Path file) throws IOException {
        MessageDigest digest = sha256();
        ByteBuffer buffer = ByteBuffer.allocateDirect(BUFFER);
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            while (channel.read(buffer) >= 0) {
                buffer.flip();
                digest.update(buffer);
                buffer.clear();
            }
        }
        return hex(digest.digest());
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
    }

    private static String hex(byte[] bytes) {
        return HexFormat.of().formatHex(bytes);
    }
}
