package dev.gguflens.llama;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;

/**
 * Loads libgguflens: from {@code -Dgguflens.native.path=/abs/libgguflens.so} when set, else from the jar's
 * {@code native/<os>-<arch>/} resource, extracted once per content hash (so two versions never clash and a
 * running JVM's file is never overwritten).
 */
public final class NativeLibrary {
    public static final String PATH_PROPERTY = "gguflens.native.path";
    private static volatile Path loaded;

    private NativeLibrary() {}

    /** Loads the library once per JVM; returns the file it came from. */
    @SuppressWarnings("restricted")  // System.load: the JVM is started with --enable-native-access
    public static synchronized Path load() {
        if (loaded != null) return loaded;
        String override = System.getProperty(PATH_PROPERTY);
        Path file;
        if (override != null && !override.isBlank()) {
            file = Path.of(override).toAbsolutePath();
            if (!Files.isRegularFile(file)) {
                throw new LlamaException("-D" + PATH_PROPERTY + "=" + override + ": no such file");
            }
        } else {
            file = extractResource();
        }
        try {
            System.load(file.toString());
        } catch (UnsatisfiedLinkError e) {
            throw new LlamaException("cannot load native library " + file + ": " + e.getMessage(), e);
        }
        loaded = file;
        return file;
    }

    /** {@code linux-x86_64}, {@code macos-aarch64}, ...: the folder build-native.sh installs into. */
    public static String platform() {
        String os = System.getProperty("os.name").toLowerCase(Locale.ROOT);
        String osName = os.contains("mac") || os.contains("darwin") ? "macos" : os.contains("win") ? "windows" : os.contains("linux") ? "linux" : os.replace(' ', '_');
        String arch = System.getProperty("os.arch").toLowerCase(Locale.ROOT);
        String archName = switch (arch) {
            case "amd64", "x86_64" -> "x86_64";
            case "aarch64", "arm64" -> "aarch64";
            default -> arch;
        };
        return osName + "-" + archName;
    }

    static String libraryFileName() {
        return platform().startsWith("macos") ? "libgguflens.dylib" : platform().startsWith("windows") ? "gguflens.dll" : "libgguflens.so";
    }

    private static Path extractResource() {
        String resource = "/native/" + platform() + "/" + libraryFileName();
        byte[] bytes;
        try (InputStream in = NativeLibrary.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new LlamaException("no native library for " + platform() + " (resource " + resource + " is missing): build it with "
                        + "'./mvnw package' (without -Dgguflens.native.skip=true) or 'scripts/build-native.sh --install-into target/classes', "
                        + "or point -D" + PATH_PROPERTY + " at a libgguflens file");
            }
            bytes = in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + resource, e);
        }
        String hash = sha256(bytes).substring(0, 16);
        Path dir = Path.of(System.getProperty("java.io.tmpdir"), "gguf-lens-" + System.getProperty("user.name", "user"), hash);
        Path target = dir.resolve(libraryFileName());
        try {
            if (Files.isRegularFile(target) && Files.size(target) == bytes.length) return target;
            Files.createDirectories(dir);
            Path partial = Files.createTempFile(dir, "lib", ".partial");
            Files.write(partial, bytes);
            try {
                Files.move(partial, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(partial, target, StandardCopyOption.REPLACE_EXISTING);
            }
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot extract the native library to " + target, e);
        }
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
