package dev.gguflens.gguf;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

class GgufSplitTest {
    @TempDir
    Path tmp;

    private List<GgufRoundTripTest.Raw> tensors;

    private List<Path> writeShards(int count) throws Exception {
        tensors = GgufRoundTripTest.someTensors(new Random(7));
        GgufWriter w = new GgufWriter();
        GgufRoundTripTest.everyType().forEach(w::put);
        for (var t : tensors) w.addTensor(t.name(), t.type(), t.shape(), t.bytes());
        return w.writeSplit(tmp.resolve("model"), count);
    }

    @Test
    void threeShardsOpenAsOneModelFromAnyShard() throws Exception {
        List<Path> shards = writeShards(3);
        assertEquals(List.of(tmp.resolve("model-00001-of-00003.gguf"), tmp.resolve("model-00002-of-00003.gguf"),
                tmp.resolve("model-00003-of-00003.gguf")), shards);
        long totalSize = 0;
        for (Path p : shards) totalSize += Files.size(p);
        for (Path opened : shards) {
            try (GgufFile g = GgufFile.open(opened)) {
                assertEquals(shards, g.shardPaths());
                assertEquals(shards.getFirst(), g.path());
                assertEquals(totalSize, g.fileSize());
                assertEquals("llama", g.architecture());
                assertEquals(0, g.get("split.no").orElseThrow().asLong(), "metadata is the first shard's");
                assertEquals(3, g.get("split.count").orElseThrow().asLong());
                assertEquals(tensors.size(), g.get("split.tensors.count").orElseThrow().asLong());
                for (var k : GgufRoundTripTest.everyType().keySet()) assertTrue(g.get(k).isPresent(), k);
                assertEquals(tensors.stream().map(GgufRoundTripTest.Raw::name).toList(), g.tensors().stream().map(GgufTensor::name).toList());
                for (var want : tensors) {
                    GgufTensor got = g.tensor(want.name()).orElseThrow();
                    assertArrayEquals(want.bytes(), got.data().toArray(ValueLayout.JAVA_BYTE), want.name());
                }
                // tensors really come from different files
                assertNotEquals(g.fileOf(g.tensors().getFirst()), g.fileOf(g.tensors().getLast()));
            }
        }
        // each shard alone is a valid GGUF: shards 2 and 3 hold only the split keys
        GgufShard second = GgufShard.open(shards.get(1));
        try {
            assertEquals(List.of("split.no", "split.count", "split.tensors.count"), List.copyOf(second.metadata.keySet()));
            assertFalse(second.tensors.isEmpty());
        } finally {
            second.close();
        }
    }

    @Test
    void missingShardIsNamed() throws Exception {
        List<Path> shards = writeShards(3);
        Files.delete(shards.get(2));
        GgufException e = assertThrows(GgufException.class, () -> GgufFile.open(shards.getFirst()));
        assertEquals(shards.get(2) + ": shard 3 of 3 is missing (opened from " + shards.getFirst() + ")", e.getMessage());
    }

    @Test
    void shardsOfDifferentSplitsAreRefused() throws Exception {
        List<Path> shards = writeShards(2);
        // replace shard 2 with shard 1 of the same name: split.no is then wrong
        Files.copy(shards.get(0), shards.get(1), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        GgufException e = assertThrows(GgufException.class, () -> GgufFile.open(shards.getFirst()));
        assertTrue(e.getMessage().startsWith(shards.get(1) + ": split.no is"), e.getMessage());
        assertTrue(e.getMessage().contains("expected 1"), e.getMessage());
    }

    @Test
    void splitFileWithoutShardNameIsRefused() throws Exception {
        List<Path> shards = writeShards(2);
        Path renamed = tmp.resolve("renamed.gguf");
        Files.move(shards.getFirst(), renamed);
        GgufException e = assertThrows(GgufException.class, () -> GgufFile.open(renamed));
        assertTrue(e.getMessage().startsWith(renamed + ": split.count is 2 but the name does not follow"), e.getMessage());
    }
}
