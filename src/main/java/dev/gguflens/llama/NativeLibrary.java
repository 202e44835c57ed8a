package dev.gguflens.llama;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;

/**
 * Loads libgguflens from its native folder (libllama, libggml, the ggml backend modules beside it, found
 * through rpath $ORIGIN / @loader_path): from {@code -Dgguflens.native.path=/abs/libgguflens.so} when set (its
 * folder is the native folder), else from the jar's {@code native/<os>-<arch>/} resources, listed in that
 * folder's {@code files.txt} and extracted together once per listing hash (so two versions never clash and a
 * running JVM's files are never overwritten).
 */
public final class NativeLibrary {
    public static final String PATH_PROPERTY = "gguflens.native.path";
    private static volatile Path loaded;

    private NativeLibrary() {}

    /** Loads the library once per JVM; returns the file it came from (its folder holds the backend modules). */
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
            file = extractResources();
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

    /** One line of files.txt: {@code <sha256> <bytes> <name>}. */
    record FolderFile(String sha256, long size, String name) {
        FolderFile {
            if (!sha256.matches("[0-9a-f]{64}") || size < 0 || !name.matches("[A-Za-z0-9_+-][A-Za-z0-9._+-]*")) {
                throw new IllegalArgumentException("bad files.txt line: " + sha256 + " " + size + " " + name);
            }
        }

        static List<FolderFile> parse(String listing) {
            List<FolderFile> files = new ArrayList<>();
            for (String line : listing.split("\n")) {
                if (line.isBlank()) continue;
                String[] f = line.trim().split(" ", 3);
                if (f.length != 3) throw new IllegalArgumentException("bad files.txt line: " + line);
                files.add(new FolderFile(f[0], Long.parseLong(f[1]), f[2]));
            }
            return files;
        }
    }

    private static Path extractResources() {
        String folder = "/native/" + platform() + "/";
        byte[] listingBytes;
        try (InputStream in = NativeLibrary.class.getResourceAsStream(folder + "files.txt")) {
            if (in == null) {
                throw new LlamaException("no native library for " + platform() + " (resource " + folder + "files.txt is missing): build it with "
                        + "'./mvnw package' (without -Dgguflens.native.skip=true) or 'scripts/build-native.sh --install-into target/classes', "
                        + "or point -D" + PATH_PROPERTY + " at a libgguflens file in a native folder");
            }
            listingBytes = in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + folder + "files.txt", e);
        }
        List<FolderFile> files = FolderFile.parse(new String(listingBytes, StandardCharsets.UTF_8));
        // The listing holds every file's hash, so its own hash names this exact folder.
        String hash = sha256(listingBytes).substring(0, 16);
        Path dir = Path.of(System.getProperty("java.io.tmpdir"), "gguf-lens-" + System.getProperty("user.name", "user"), hash);
        try {
            Files.createDirectories(dir);
            for (FolderFile f : files) {
                Path target = dir.resolve(f.name());
                if (Files.isRegularFile(target) && Files.size(target) == f.size()) continue;
                try (InputStream in = NativeLibrary.class.getResourceAsStream(folder + f.name())) {
                    if (in == null) throw new LlamaException("the jar's " + folder + " lists " + f.name() + " but does not hold it");
                    Path partial = Files.createTempFile(dir, f.name(), ".partial");
                    Files.copy(in, partial, StandardCopyOption.REPLACE_EXISTING);
                    if (f.name().equals("rpc-server")) partial.toFile().setExecutable(true);
                    try {
                        Files.move(partial, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                    } catch (AtomicMoveNotSupportedException e) {
                        Files.move(partial, target, StandardCopyOption.REPLACE_EXISTING);
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot extract the native folder to " + dir, e);
        }
        return dir.resolve(libraryFileName());
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
