package dev.gguflens.llama;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Asks an rpc-server for llama.cpp's RPC handshake (HELLO) from Java before ggml's RPC client connects: ggml aborts
 * the whole process when a server is unreachable, closes the connection or answers wrongly, while this fails with a
 * {@link LlamaException} naming the server. Only an idle server can answer: rpc-server serves one client at a time
 * (the connection a loaded model holds counts), so this runs before a server is added and before each model load.
 * The message layout is ggml-rpc.cpp's of the pinned llama.cpp (protocol 7.0.0).
 */
final class RpcHandshake {
    static final int COMMAND_HELLO = 14;       // RPC_CMD_HELLO, fixed across protocol versions
    static final int CAPS_BYTES = 24;           // RPC_CONN_CAPS_SIZE: the request is the caps (zeros: plain TCP)
    static final int PROTOCOL_MAJOR = 7, PROTOCOL_MINOR = 0;  // RPC_PROTO_*_VERSION of the pinned ggml
    static final int CONNECT_TIMEOUT_MS = 5_000, ANSWER_TIMEOUT_MS = 10_000;

    private RpcHandshake() {}

    /** Throws unless an rpc-server of the pinned protocol answers at host:port. */
    static void check(String endpoint) {
        int colon = endpoint.lastIndexOf(':');
        String host = endpoint.substring(0, colon);
        int port = Integer.parseInt(endpoint.substring(colon + 1));
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(host, port), CONNECT_TIMEOUT_MS);
            socket.setSoTimeout(ANSWER_TIMEOUT_MS);
            ByteBuffer hello = ByteBuffer.allocate(1 + 8 + CAPS_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            hello.put((byte) COMMAND_HELLO).putLong(CAPS_BYTES);   // then CAPS_BYTES zero bytes
            OutputStream out = socket.getOutputStream();
            out.write(hello.array());
            out.flush();
            DataInputStream in = new DataInputStream(socket.getInputStream());
            byte[] sizeBytes = new byte[8];
            in.readFully(sizeBytes);
            long size = ByteBuffer.wrap(sizeBytes).order(ByteOrder.LITTLE_ENDIAN).getLong();
            if (size != 4 + CAPS_BYTES) {
                throw new LlamaException("--rpc " + endpoint + ": the server there is no rpc-server of this llama.cpp"
                        + " (its handshake answer has " + size + " bytes, not " + (4 + CAPS_BYTES) + ")");
            }
            byte[] answer = new byte[4 + CAPS_BYTES];
            in.readFully(answer);
            int major = answer[0] & 0xff, minor = answer[1] & 0xff, patch = answer[2] & 0xff;
            if (major != PROTOCOL_MAJOR || minor > PROTOCOL_MINOR) {
                throw new LlamaException("--rpc " + endpoint + ": rpc-server speaks RPC protocol " + major + "." + minor + "."
                        + patch + ", this build needs " + PROTOCOL_MAJOR + "." + PROTOCOL_MINOR
                        + ".x: run the rpc-server from the same native folder");
            }
        } catch (UnknownHostException e) {
            throw new LlamaException("--rpc " + endpoint + ": unknown host " + host, e);
        } catch (ConnectException e) {
            throw new LlamaException("--rpc " + endpoint + ": no rpc-server there (" + e.getMessage() + ")", e);
        } catch (SocketTimeoutException e) {
            throw new LlamaException("--rpc " + endpoint + ": no answer to llama.cpp's RPC handshake within "
                    + (ANSWER_TIMEOUT_MS / 1000) + " s (unreachable, not an rpc-server, or one busy with another client:"
                    + " rpc-server serves one client at a time)", e);
        } catch (EOFException e) {
            throw new LlamaException("--rpc " + endpoint + ": the server closed the connection during llama.cpp's RPC"
                    + " handshake (not an rpc-server of this llama.cpp?)", e);
        } catch (IOException e) {
            throw new LlamaException("--rpc " + endpoint + ": " + e.getMessage(), e);
        }
    }
}
