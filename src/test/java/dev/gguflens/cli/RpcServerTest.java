package dev.gguflens.cli;

import dev.gguflens.llama.NativeLibrary;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static dev.gguflens.testmodels.Fixtures.requireNative;
import static dev.gguflens.testmodels.Fixtures.requireOrSkip;
import static dev.gguflens.testmodels.Fixtures.stories260K;
import static org.junit.jupiter.api.Assertions.*;

/**
 * --rpc against the pinned llama.cpp's rpc-server on 127.0.0.1, each run in a child JVM (ggml's RPC client
 * registers servers for the life of the process, and aborts it when a server fails). A server that is not there,
 * or not an rpc-server, is one line and exit 1 before anything loads; a server killed mid-run is one line and exit 1
 * (the abort callback of the shim) with no output file left; --main-gpu and --split-mode are checked against the
 * server's device.
 */
class RpcServerTest {
    static final String STORY = "Once upon a time, there was a little girl named";
    @TempDir static Path dir;

    @BeforeAll
    static void nativeLibrary() {
        requireNative();
        if (!Files.isExecutable(rpcServer())) requireOrSkip("no rpc-server in the native folder " + rpcServer().getParent());
    }

    static Path rpcServer() {
        return NativeLibrary.load().getParent().resolve("rpc-server");
    }

    record Child(int exit, String out, String err) {}

    static Process startChild(String name, String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx512m",
                "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        command.addAll(List.of(args));
        return new ProcessBuilder(command).redirectOutput(dir.resolve(name + ".out").toFile())
                .redirectError(dir.resolve(name + ".err").toFile()).start();
    }

    static Child finish(String name, Process p) throws Exception {
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail(name + ": the run did not end within 120 s");
        }
        return new Child(p.exitValue(), Files.readString(dir.resolve(name + ".out")), Files.readString(dir.resolve(name + ".err")));
    }

    static Child run(String name, String... args) throws Exception {
        return finish(name, startChild(name, args));
    }

    static int freePort() throws IOException {
        try (ServerSocket free = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return free.getLocalPort();
        }
    }

    /** A started rpc-server with one thread, its log in dir. */
    static Process startServer(int port, String name) throws Exception {
        Process server = new ProcessBuilder(rpcServer().toString(), "-H", "127.0.0.1", "-p", String.valueOf(port), "-t", "1")
                .redirectErrorStream(true).redirectOutput(dir.resolve(name).toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            if (!server.isAlive()) fail("rpc-server exited with " + server.exitValue() + "; see " + dir.resolve(name));
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 500);
                // That connection is queued as a client: the server reads its HELLO, finds none, and goes on.
                return server;
            } catch (IOException notYet) {
                Thread.sleep(100);
            }
        }
        server.destroyForcibly();
        fail("rpc-server did not listen on port " + port + " within 30 s");
        return null;
    }

    static void stop(Process server) throws InterruptedException {
        server.destroyForcibly();
        server.waitFor(10, TimeUnit.SECONDS);
    }

    static boolean modelConnected(String serverLog) {
        return serverLog.split("Accepted client connection", -1).length > 5 && serverLog.strip().endsWith("Accepted client connection");
    }

    static void assertOneLine(Child c, String start) {
        // The JVM's incubator notice is dropped by bin/gguf-lens, not by gguf-lens itself.
        List<String> lines = c.err().lines().filter(l -> !l.isBlank() && !l.startsWith("WARNING: Using incubator modules")).toList();
        assertEquals(1, lines.size(), "one line on stderr, got:\n" + c.err());
        assertTrue(lines.getFirst().startsWith(start), lines.getFirst());
    }

    @Test
    void noServerThereIsOneLineBeforeAnythingLoads() throws Exception {
        int port = freePort();
        Child c = run("refused", "probe", "-m", stories260K().toString(), "-p", STORY, "--rpc", "127.0.0.1:" + port, "-q");
        assertEquals(1, c.exit(), c.err());
        assertOneLine(c, "gguf-lens: --rpc 127.0.0.1:" + port + ": no rpc-server there (Connection refused");
    }

    @Test
    void aServerThatIsNoRpcServerIsOneLine() throws Exception {
        try (ServerSocket impostor = new ServerSocket(0, 4, InetAddress.getLoopbackAddress())) {
            Thread acceptor = Thread.ofVirtual().start(() -> {
                try (Socket s = impostor.accept()) {
                    s.getOutputStream().write("HTTP/1.0 400 Bad Request\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                } catch (IOException ignored) {
                    // the test ends the socket
                }
            });
            Child c = run("impostor", "probe", "-m", stories260K().toString(), "-p", STORY, "--rpc", "127.0.0.1:" + impostor.getLocalPort(), "-q");
            acceptor.join(5_000);
            assertEquals(1, c.exit(), c.err());
            assertOneLine(c, "gguf-lens: --rpc 127.0.0.1:" + impostor.getLocalPort() + ": ");
            assertTrue(c.err().contains("no rpc-server of this llama.cpp") || c.err().contains("closed the connection"), c.err());
        }
    }

    @Test
    void placementIsCheckedAgainstTheServersDevice() throws Exception {
        int port = freePort();
        Process server = startServer(port, "placement-server.log");
        try {
            String endpoint = "127.0.0.1:" + port;
            Child outside = run("main-gpu-1", "probe", "-m", stories260K().toString(), "-p", STORY, "--rpc", endpoint, "--main-gpu", "1", "-q");
            assertEquals(2, outside.exit(), outside.err());
            assertOneLine(outside, "gguf-lens: --main-gpu 1 is not one of the 1 device(s) that can hold layers (0: RPC");
            Child row = run("row", "probe", "-m", stories260K().toString(), "-p", STORY, "--rpc", endpoint, "--split-mode", "row", "-q");
            assertEquals(2, row.exit(), row.err());
            assertOneLine(row, "gguf-lens: --split-mode 'row' needs split buffers, which RPC");
            Child none = run("none", "probe", "-m", stories260K().toString(), "-p", STORY, "--rpc", endpoint, "--split-mode", "none",
                    "--main-gpu", "0", "--top-k", "3", "-t", "1");
            assertEquals(0, none.exit(), none.err());
            assertTrue(none.out().contains("Backend: RPC0 (" + endpoint + ") + CPU (") && none.out().contains("; 6/6 layers offloaded;"
                    + " split mode none, main GPU 0\n"), none.out());
        } finally {
            stop(server);
        }
    }

    @Test
    void aServerKilledMidRunEndsTheRunWithOneLineAndNoOutput() throws Exception {
        int port = freePort();
        Process server = startServer(port, "killed-server.log");
        Path prompts = dir.resolve("many.jsonl");
        StringBuilder lines = new StringBuilder();
        // Enough prompts that the run is still going when the server is killed (~25 ms each here through RPC).
        for (int i = 0; i < 4000; i++) lines.append("{\"prompt\": \"").append(STORY).append(" Lily number ").append(i).append("\"}\n");
        Files.writeString(prompts, lines);
        Path out = dir.resolve("killed-out");
        Process child = startChild("killed", "probe", "-m", stories260K().toString(), "--prompts", prompts.toString(),
                "--rpc", "127.0.0.1:" + port, "--top-k", "3", "-t", "1", "--out", out.toString(), "-q");
        try {
            // The model is on the server once its log shows a fifth connection still open (the readiness probe above,
            // gguf-lens's handshake check, ggml's device count, the check before the load, then the model's own);
            // then let the prompts run a while.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (System.nanoTime() < deadline && !modelConnected(Files.readString(dir.resolve("killed-server.log")))) {
                if (!child.isAlive()) fail("the run ended before the server was killed: " + Files.readString(dir.resolve("killed.err")));
                Thread.sleep(100);
            }
            Thread.sleep(2_000);
            assertTrue(child.isAlive(), "the run ended before the server was killed; raise the prompt count");
        } finally {
            stop(server);
        }
        Child c = finish("killed", child);
        assertEquals(1, c.exit(), c.err());
        assertOneLine(c, "gguf-lens: the connection to rpc-server 127.0.0.1:" + port + " failed mid-run");
        assertTrue(c.err().contains("ggml-rpc.cpp:"), c.err());
        if (Files.isDirectory(out)) {
            try (Stream<Path> files = Files.list(out)) {
                List<String> visible = files.map(f -> f.getFileName().toString()).filter(n -> !n.startsWith(".")).toList();
                assertEquals(List.of(), visible, "no output file passes for complete");
            }
        }
    }
}
