package dev.gguflens.download;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ModelResolverTest {

    private static final String REPO = "acme/Tiny-GGUF";

    @TempDir
    Path models;
    private FakeHub hub;
    private final List<String> notes = new ArrayList<>();
    private final List<Long> progress = new ArrayList<>();
    private final DownloadListener listener = new DownloadListener() {
        @Override
        public void note(String message) {
            notes.add(message);
        }

        @Override
        public void progress(HubFile file, long bytesOnDisk) {
            progress.add(bytesOnDisk);
        }
    };

    @BeforeEach
    void startHub() throws IOException {
        hub = new FakeHub();
    }

    @AfterEach
    void stopHub() {
        hub.close();
    }

    private static byte[] randomBytes(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    private HubConfig config(int attempts) {
        return new HubConfig(hub.endpoint(), null, models, attempts, Duration.ofSeconds(30));
    }

    private List<Path> resolve(String arg, HubConfig config) throws DownloadException {
        return ModelResolver.resolve(arg, config, listener);
    }

    @Test
    void completeDownloadFollowsRedirectVerifiesAndSkipsSecondTime() throws Exception {
        byte[] q4 = randomBytes(3_000_000, 1);
        hub.put(REPO, "tiny-Q8_0.gguf", randomBytes(1000, 2)).put(REPO, "tiny-Q4_K_M.gguf", q4).put(REPO, "README.md", new byte[10]);

        List<Path> paths = resolve("hf://" + REPO, config(1));

        Path expected = models.resolve("acme--Tiny-GGUF").resolve("tiny-Q4_K_M.gguf").toAbsolutePath();
        assertEquals(List.of(expected), paths);
        assertArrayEquals(q4, Files.readAllBytes(expected));
        assertFalse(Files.exists(expected.resolveSibling("tiny-Q4_K_M.gguf.part")), "no .part left after success");
        assertEquals(FakeHub.sha256(q4) + "  tiny-Q4_K_M.gguf\n# size " + q4.length,
                Files.readString(FileDownloader.checksumNote(expected)).strip());
        assertEquals(1, hub.downloads().size(), "one CDN request, reached through the 302");
        assertEquals(q4.length, progress.getLast(), "progress reports the full size at the end");

        notes.clear();
        assertEquals(paths, resolve(REPO + ":q4_k_m", config(1)));
        assertEquals(1, hub.downloads().size(), "a verified local copy is not downloaded again");
        assertTrue(notes.stream().anyMatch(n -> n.contains("already present")), notes.toString());
    }

    @Test
    void copyCorruptedUnderAnOldModificationTimeIsHashedAgainAndReplaced() throws Exception {
        byte[] data = randomBytes(200_000, 11);
        hub.put(REPO, "m-Q8_0.gguf", data);
        Path local = resolve(REPO, config(1)).getFirst();
        FileTime noted = Files.getLastModifiedTime(FileDownloader.checksumNote(local));
        // Same size, one bit flipped, and a modification time an hour before the note: only the change time tells.
        byte[] corrupt = data.clone();
        corrupt[12345] ^= 1;
        Thread.sleep(20);
        Files.write(local, corrupt);
        Files.setLastModifiedTime(local, FileTime.fromMillis(noted.toMillis() - 3_600_000));
        notes.clear();

        resolve(REPO, config(1));

        assertTrue(notes.stream().anyMatch(n -> n.contains("has sha256")), notes.toString());
        assertArrayEquals(data, Files.readAllBytes(local));
        assertEquals(2, hub.downloads().size(), "the corrupted copy was fetched again");
    }

    @Test
    void noteWithoutTheFileSizeOrAskedToVerifyHashesAgain() throws Exception {
        byte[] data = randomBytes(100_000, 12);
        hub.put(REPO, "m-Q8_0.gguf", data);
        Path local = resolve(REPO, config(1)).getFirst();
        Path note = FileDownloader.checksumNote(local);
        Files.writeString(note, FakeHub.sha256(data) + "  m-Q8_0.gguf\n"); // an older note: no size line
        notes.clear();
        resolve(REPO, config(1));
        assertTrue(notes.stream().anyMatch(n -> n.startsWith("verifying m-Q8_0.gguf")), notes.toString());
        assertTrue(Files.readString(note).contains("# size " + data.length), "the note is rewritten with the size");

        notes.clear();
        resolve(REPO, config(1));
        assertTrue(notes.stream().noneMatch(n -> n.startsWith("verifying")), "a complete note is trusted: " + notes);

        notes.clear();
        new ModelResolver(config(1), listener).rehashingPresentFiles().resolve(REPO);
        assertTrue(notes.stream().anyMatch(n -> n.startsWith("verifying m-Q8_0.gguf")), "--verify hashes again: " + notes);
        assertEquals(1, hub.downloads().size(), "verified copies are not downloaded again");
    }

    @Test
    void localCopyWithWrongContentIsReplaced() throws Exception {
        byte[] data = randomBytes(5000, 3);
        hub.put(REPO, "m-Q8_0.gguf", data);
        Path local = models.resolve("acme--Tiny-GGUF/m-Q8_0.gguf");
        Files.createDirectories(local.getParent());
        byte[] corrupt = data.clone();
        corrupt[100] ^= 1;
        Files.write(local, corrupt);

        resolve(REPO, config(1));

        assertArrayEquals(data, Files.readAllBytes(local));
        assertTrue(notes.stream().anyMatch(n -> n.contains("has sha256")), notes.toString());
    }

    @Test
    void interruptedDownloadResumesWithRangeAndMatchesByteForByte() throws Exception {
        byte[] data = randomBytes(2_500_000, 4);
        int cut = 1_000_000;
        hub.put(REPO, "big-Q4_K_M.gguf", data).cutFirstDownloadAfter(REPO, "big-Q4_K_M.gguf", cut);
        Path target = models.resolve("acme--Tiny-GGUF/big-Q4_K_M.gguf");
        Path part = target.resolveSibling("big-Q4_K_M.gguf.part");

        DownloadException first = assertThrows(DownloadException.class, () -> resolve(REPO, config(1)));
        // The client keeps what reached it before the hang-up: a prefix, at most what the server sent.
        long kept = Files.size(part);
        assertTrue(kept > 0 && kept <= cut, "kept " + kept);
        assertTrue(first.getMessage().contains("interrupted after " + kept + " of " + data.length + " bytes"), first.getMessage());
        assertTrue(first.getMessage().contains("resume from " + part), first.getMessage());
        assertFalse(first.getMessage().contains("\n"));
        assertFalse(Files.exists(target), "an incomplete file is never the model");

        assertEquals(List.of(target.toAbsolutePath()), resolve(REPO, config(1)));
        assertArrayEquals(data, Files.readAllBytes(target));
        List<FakeHub.Seen> downloads = hub.downloads();
        assertEquals(2, downloads.size());
        assertNull(downloads.get(0).range());
        assertEquals("bytes=" + kept + "-", downloads.get(1).range());
        assertTrue(notes.stream().anyMatch(n -> n.startsWith("resuming big-Q4_K_M.gguf at " + kept)), notes.toString());
    }

    @Test
    void interruptionIsResumedWithinOneCallWhenAttemptsRemain() throws Exception {
        byte[] data = randomBytes(1_500_000, 5);
        hub.put(REPO, "x-Q4_K_M.gguf", data).cutFirstDownloadAfter(REPO, "x-Q4_K_M.gguf", 700_000);

        Path path = resolve(REPO, config(3)).getFirst();

        assertArrayEquals(data, Files.readAllBytes(path));
        assertResumedWithin(hub.downloads().get(1).range(), 700_000);
    }

    @Test
    void stalledBodyIsAbortedAndResumed() throws Exception {
        byte[] data = randomBytes(400_000, 6);
        hub.put(REPO, "s-Q4_K_M.gguf", data).stallFirstDownloadAfter(REPO, "s-Q4_K_M.gguf", 100_000, 3_000);
        HubConfig config = config(2).withStallTimeout(Duration.ofMillis(200));

        Path path = resolve(REPO, config).getFirst();

        assertArrayEquals(data, Files.readAllBytes(path));
        assertTrue(notes.stream().anyMatch(n -> n.contains("no data for")), notes.toString());
        assertResumedWithin(hub.downloads().get(1).range(), 100_000);
    }

    /** The retry asked for the rest of the file, from a point inside what the first response delivered. */
    private static void assertResumedWithin(String range, long sent) {
        assertTrue(range != null && range.matches("bytes=\\d+-"), "range " + range);
        long from = Long.parseLong(range.substring(6, range.length() - 1));
        assertTrue(from > 0 && from <= sent, range);
    }

    @Test
    void serverIgnoringRangeRestartsFromZero() throws Exception {
        byte[] data = randomBytes(300_000, 7);
        hub.put(REPO, "r-Q4_K_M.gguf", data).ignoreRange();
        Path part = models.resolve("acme--Tiny-GGUF/r-Q4_K_M.gguf.part");
        Files.createDirectories(part.getParent());
        Files.write(part, new byte[1000]); // stale bytes the server will not let us continue

        Path path = resolve(REPO, config(1)).getFirst();

        assertArrayEquals(data, Files.readAllBytes(path));
        assertEquals("bytes=1000-", hub.downloads().getFirst().range());
    }

    @Test
    void wrongSha256IsRejectedAndNothingIsLeftAsTheModel() throws Exception {
        byte[] data = randomBytes(10_000, 8);
        String listed = "ab".repeat(32);
        hub.put(REPO, "bad-Q4_K_M.gguf", data).listSha(REPO, "bad-Q4_K_M.gguf", listed);

        DownloadException e = assertThrows(DownloadException.class, () -> resolve(REPO, config(1)));

        assertTrue(e.getMessage().startsWith("sha256 mismatch for bad-Q4_K_M.gguf"), e.getMessage());
        assertTrue(e.getMessage().contains("expected " + listed), e.getMessage());
        assertTrue(e.getMessage().contains("got " + FakeHub.sha256(data)), e.getMessage());
        Path dir = models.resolve("acme--Tiny-GGUF");
        assertFalse(Files.exists(dir.resolve("bad-Q4_K_M.gguf")));
        assertFalse(Files.exists(dir.resolve("bad-Q4_K_M.gguf.part")), "the bad bytes are deleted, not resumed later");
        assertFalse(Files.exists(dir.resolve("bad-Q4_K_M.gguf.sha256")));
    }

    @Test
    void secondDownloadOfTheSameFileIsRefusedWhileTheFirstHoldsTheLock() throws Exception {
        hub.put(REPO, "l-Q4_K_M.gguf", new byte[100]);
        Path part = models.resolve("acme--Tiny-GGUF/l-Q4_K_M.gguf.part");
        Files.createDirectories(part.getParent());
        try (var channel = java.nio.channels.FileChannel.open(part, java.nio.file.StandardOpenOption.CREATE,
                java.nio.file.StandardOpenOption.WRITE); var lock = channel.lock()) {
            DownloadException e = assertThrows(DownloadException.class, () -> resolve(REPO, config(1)));
            assertEquals("another download of l-Q4_K_M.gguf is in progress (" + part.toAbsolutePath() + " is locked)", e.getMessage());
            assertTrue(lock.isValid());
        }
        assertTrue(hub.downloads().isEmpty());
    }

    @Test
    void unknownRepositoryIs404WithUrl() {
        DownloadException e = assertThrows(DownloadException.class, () -> resolve("hf://acme/Nope", config(1)));
        assertEquals("repository acme/Nope not found on the hub (404): " + hub.endpoint() + "/api/models/acme/Nope/tree/main?recursive=true",
                e.getMessage());
    }

    @Test
    void unknownQuantListsWhatIsAvailable() {
        hub.put(REPO, "t-Q8_0.gguf", new byte[1]).put(REPO, "t-Q4_K_M.gguf", new byte[1]);
        DownloadException e = assertThrows(DownloadException.class, () -> resolve(REPO + ":IQ2_XS", config(1)));
        assertEquals("no GGUF with quant IQ2_XS in acme/Tiny-GGUF (available: Q4_K_M, Q8_0)", e.getMessage());
    }

    @Test
    void connectionRefusedSaysHowToDownloadByHand() throws Exception {
        int deadPort;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            deadPort = s.getLocalPort();
        } // closed: nothing listens there now
        HubConfig config = config(1).withEndpoint(URI.create("http://127.0.0.1:" + deadPort));

        DownloadException e = assertThrows(DownloadException.class, () -> resolve(REPO + ":Q8_0", config));

        String m = e.getMessage();
        assertTrue(m.startsWith("cannot reach http://127.0.0.1:" + deadPort + "/api/models/acme/Tiny-GGUF/tree/main"), m);
        assertTrue(m.contains("connection refused"), m);
        assertTrue(m.contains("download the file by hand from http://127.0.0.1:" + deadPort + "/acme/Tiny-GGUF"), m);
        assertTrue(m.contains("and place it at " + models.resolve("acme--Tiny-GGUF").toAbsolutePath()), m);
        assertFalse(m.contains("\n"));
    }

    @Test
    void offlineFallsBackToAFittingLocalCopy() throws Exception {
        int deadPort;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            deadPort = s.getLocalPort();
        }
        Path local = models.resolve("acme--Tiny-GGUF/t-Q8_0.gguf");
        Files.createDirectories(local.getParent());
        Files.write(local, new byte[] {1, 2, 3});
        Files.write(local.resolveSibling("t-Q4_K_M.gguf.part"), new byte[] {1}); // incomplete: must not be chosen

        List<Path> paths = resolve(REPO, config(1).withEndpoint(URI.create("http://127.0.0.1:" + deadPort)));

        assertEquals(List.of(local.toAbsolutePath()), paths);
        assertTrue(notes.getFirst().startsWith("hub unreachable"), notes.toString());
    }

    @Test
    void fileListedButMissingIs404NamingTheFileUrl() {
        hub.put(REPO, "gone-Q4_K_M.gguf", new byte[10]);
        // Listing says it exists; the resolve endpoint will not find it under another name.
        List<HubFile> listing = List.of(new HubFile("other-Q4_K_M.gguf", 10, null));
        DownloadException e;
        try (HubClient client = new HubClient(config(1))) {
            FileDownloader d = new FileDownloader(client, config(1), listener);
            e = assertThrows(DownloadException.class, () -> d.fetch(ModelRef.parse(REPO), listing.getFirst()));
        }
        assertEquals("file other-Q4_K_M.gguf not found on the hub (404): " + hub.endpoint() + "/acme/Tiny-GGUF/resolve/main/other-Q4_K_M.gguf",
                e.getMessage());
    }

    @Test
    void splitGgufFetchesEveryShardInOrder() throws Exception {
        byte[][] shards = {randomBytes(2000, 11), randomBytes(3000, 12), randomBytes(1000, 13)};
        for (int i = 2; i >= 0; i--)
            hub.put(REPO, String.format("Q4_K_M/big-Q4_K_M-%05d-of-00003.gguf", i + 1), shards[i]);
        hub.put(REPO, "big-Q8_0.gguf", new byte[5]);

        List<Path> paths = resolve(REPO + ":Q4_K_M", config(1));

        assertEquals(3, paths.size());
        for (int i = 0; i < 3; i++) {
            assertEquals(models.resolve("acme--Tiny-GGUF/Q4_K_M").resolve(String.format("big-Q4_K_M-%05d-of-00003.gguf", i + 1)).toAbsolutePath(),
                    paths.get(i));
            assertArrayEquals(shards[i], Files.readAllBytes(paths.get(i)));
        }
    }

    @Test
    void tokenGoesToTheHubButNotToTheCdn() throws Exception {
        hub.put(REPO, "p-Q4_K_M.gguf", new byte[] {42});
        HubConfig config = new HubConfig(hub.endpoint(), "hf_secret", models, 1, Duration.ofSeconds(30));

        resolve(REPO, config);

        for (FakeHub.Seen s : hub.seen()) {
            if (s.path().startsWith("/cdn/")) assertNull(s.authorization(), "CDN must not see the token: " + s);
            else assertEquals("Bearer hf_secret", s.authorization(), s.toString());
        }
        assertEquals(3, hub.seen().size(), "tree, resolve (302), cdn");
    }

    @Test
    void localPathsAreReturnedUnchanged() throws Exception {
        assertEquals(List.of(Path.of("some/dir/model.gguf")), resolve("some/dir/model.gguf", config(1)));
        Path existing = Files.createDirectories(models.resolve("acme/Tiny"));
        assertEquals(List.of(existing), resolve(existing.toString(), config(1)));
        assertTrue(hub.seen().isEmpty(), "no hub traffic for local paths");
        assertTrue(ModelResolver.isHubReference(ModelResolver.DEFAULT_MODEL));
        assertFalse(ModelResolver.isHubReference("model.gguf"));
    }
}
