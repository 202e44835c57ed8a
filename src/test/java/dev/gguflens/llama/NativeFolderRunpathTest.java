package dev.gguflens.llama;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static dev.gguflens.testmodels.Fixtures.requireNative;
import static dev.gguflens.testmodels.Fixtures.requireOrSkip;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The native folder is self-contained: every shipped library and rpc-server finds its neighbours through its own
 * folder only (RUNPATH exactly [$ORIGIN] on Linux, LC_RPATH exactly @loader_path on macOS), never through the
 * build machine's paths or an empty entry (which means the current directory). The ELF dynamic section is read
 * here in Java, so the check needs no readelf; macOS uses otool.
 */
class NativeFolderRunpathTest {
    static final long PT_LOAD = 1, PT_DYNAMIC = 2;
    static final long DT_NULL = 0, DT_STRTAB = 5, DT_RPATH = 15, DT_RUNPATH = 29;

    /** The search paths an ELF file names: each DT_RPATH as "RPATH:x", each DT_RUNPATH as "RUNPATH:x". */
    static List<String> elfSearchPaths(Path file) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file));
        assertTrue(b.limit() > 64 && b.getInt(0) == 0x7f454c46 /* \x7fELF read big-endian */, file + " is not an ELF file");
        assertEquals(2, b.get(4), file + ": only 64-bit ELF files are expected here");
        b.order(b.get(5) == 1 ? ByteOrder.LITTLE_ENDIAN : ByteOrder.BIG_ENDIAN);
        long phoff = b.getLong(0x20);
        int phentsize = Short.toUnsignedInt(b.getShort(0x36)), phnum = Short.toUnsignedInt(b.getShort(0x38));
        List<long[]> loads = new ArrayList<>();  // {vaddr, offset, filesz}
        long dynOffset = -1, dynSize = 0;
        for (int i = 0; i < phnum; i++) {
            int p = Math.toIntExact(phoff + (long) i * phentsize);
            long type = Integer.toUnsignedLong(b.getInt(p));
            if (type == PT_LOAD) loads.add(new long[]{b.getLong(p + 16), b.getLong(p + 8), b.getLong(p + 32)});
            if (type == PT_DYNAMIC) {
                dynOffset = b.getLong(p + 8);
                dynSize = b.getLong(p + 32);
            }
        }
        assertTrue(dynOffset >= 0, file + " has no dynamic section");
        long strtabVaddr = -1;
        List<long[]> paths = new ArrayList<>();  // {tag, string offset}
        for (long e = dynOffset; e + 16 <= dynOffset + dynSize; e += 16) {
            long tag = b.getLong(Math.toIntExact(e)), value = b.getLong(Math.toIntExact(e + 8));
            if (tag == DT_NULL) break;
            if (tag == DT_STRTAB) strtabVaddr = value;
            if (tag == DT_RPATH || tag == DT_RUNPATH) paths.add(new long[]{tag, value});
        }
        List<String> out = new ArrayList<>();
        if (paths.isEmpty()) return out;
        assertTrue(strtabVaddr >= 0, file + " names a search path but has no string table");
        long strtab = -1;
        for (long[] load : loads) {
            if (strtabVaddr >= load[0] && strtabVaddr < load[0] + load[2]) strtab = strtabVaddr - load[0] + load[1];
        }
        assertTrue(strtab >= 0, file + ": the string table lies in no loaded segment");
        for (long[] path : paths) {
            int start = Math.toIntExact(strtab + path[1]), end = start;
            while (b.get(end) != 0) end++;
            byte[] text = new byte[end - start];
            b.get(start, text);
            out.add((path[0] == DT_RUNPATH ? "RUNPATH:" : "RPATH:") + new String(text, StandardCharsets.UTF_8));
        }
        return out;
    }

    /** LC_RPATH entries of a Mach-O file, from otool -l. */
    static List<String> machoRpaths(Path file) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("otool", "-l", file.toString()).redirectErrorStream(true).start();
        List<String> lines = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).lines().map(String::trim).toList();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, "otool -l " + file + " failed");
        List<String> out = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            if (!lines.get(i).equals("cmd LC_RPATH")) continue;
            for (int j = i + 1; j < Math.min(lines.size(), i + 4); j++) {
                if (lines.get(j).startsWith("path ")) out.add(lines.get(j).substring(5).replaceFirst(" \\(offset \\d+\\)$", ""));
            }
        }
        return out;
    }

    @Test
    void everyShippedFileSearchesOnlyItsOwnFolder() throws Exception {
        requireNative();
        Path folder = NativeLibrary.load().getParent();
        List<Path> shipped;
        try (Stream<Path> files = Files.list(folder)) {
            shipped = files.filter(f -> {
                String n = f.getFileName().toString();
                return n.equals("rpc-server") || n.endsWith(".so") || n.endsWith(".dylib");
            }).sorted().toList();
        }
        assertTrue(shipped.stream().anyMatch(f -> f.getFileName().toString().startsWith("libgguflens")), "no libgguflens in " + folder);
        String platform = NativeLibrary.platform();
        for (Path f : shipped) {
            if (platform.startsWith("linux")) {
                assertEquals(List.of("RUNPATH:$ORIGIN"), elfSearchPaths(f), f + ": search paths");
            } else if (platform.startsWith("macos")) {
                if (!Files.isExecutable(Path.of("/usr/bin/otool"))) {
                    requireOrSkip("otool not found (xcode-select --install): cannot read " + f + "'s LC_RPATH");
                }
                assertEquals(List.of("@loader_path"), machoRpaths(f), f + ": LC_RPATH");
            } else {
                requireOrSkip("no search-path check for " + platform);
            }
        }
    }
}
