package dev.gguflens.report;

import dev.gguflens.experiment.ProbeReport;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A published probe set replaces the model's previous set in --out: files of an earlier, larger prompt set (or of
 * a single-prompt run) that the new set does not write are removed; other models' files and the user's stay.
 */
class ProbeOutputsFamilyTest {
    static List<String> names(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    static List<String> sorted(List<String> names) {
        List<String> out = new ArrayList<>(names);
        Collections.sort(out);
        return out;
    }

    @Test
    void aSmallerPromptSetReplacesTheLargerOnesFiles(@TempDir Path dir) throws IOException {
        ProbeReport r = SampleReports.small();
        ProbeOutputs.write(dir, "model", Collections.nCopies(12, r));
        Files.writeString(dir.resolve("readme.md"), "the user's file");
        Files.writeString(dir.resolve("model-p001.txt.bak"), "the user's copy");
        Files.writeString(dir.resolve("model-notes.txt"), "the user's notes");
        ProbeOutputs.write(dir, "other", List.of(r));
        assertEquals(60 + 5 + 3, names(dir).size(), names(dir).toString());

        ProbeOutputs.write(dir, "model", Collections.nCopies(3, r));
        List<String> expected = new ArrayList<>(ProbeOutputs.fileNames("model", 3));
        expected.addAll(ProbeOutputs.fileNames("other", 1));
        expected.addAll(List.of("readme.md", "model-p001.txt.bak", "model-notes.txt"));
        assertEquals(sorted(expected), names(dir), "p004..p012 are gone, everything else stays");

        ProbeOutputs.write(dir, "model", List.of(r));
        expected.removeAll(ProbeOutputs.fileNames("model", 3));
        expected.addAll(ProbeOutputs.fileNames("model", 1));
        assertEquals(sorted(expected), names(dir), "a single-prompt run replaces the -pNNN files");

        ProbeOutputs.write(dir, "model", Collections.nCopies(2, r));
        expected.removeAll(ProbeOutputs.fileNames("model", 1));
        expected.addAll(ProbeOutputs.fileNames("model", 2));
        assertEquals(sorted(expected), names(dir), "and a prompt set replaces the single-prompt names");
    }

    @Test
    void theFamilyIsTheModelsNamesOnly() {
        Pattern family = ProbeOutputs.family("m.q4");
        for (String yes : List.of("m.q4.txt", "m.q4.json", "m.q4-records.csv", "m.q4-pure-next-token.csv", "m.q4.html",
                "m.q4-p001.txt", "m.q4-p1234.html")) {
            assertTrue(family.matcher(yes).matches(), yes);
        }
        for (String no : List.of("mXq4.txt", "m.q4-p01.txt", "m.q4-p001.txt.bak", "m.q4-attribution.txt", "m.q4.png",
                ".m.q4.txt.123-abc.partial", "other.txt")) {
            assertFalse(family.matcher(no).matches(), no);
        }
    }

    @Test
    void aSetWithoutAFamilyRemovesNothing(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("keep.txt"), "x");
        try (OutputSet set = OutputSet.in(dir)) {
            set.text("new.txt", w -> w.write("y"));
            set.publish();
        }
        assertEquals(List.of("keep.txt", "new.txt"), names(dir));
        try (OutputSet set = OutputSet.in(dir).replacing(Pattern.compile("[a-z]+\\.txt"))) {
            set.text("new.txt", w -> w.write("z"));
            set.publish();
        }
        assertEquals(List.of("new.txt"), names(dir), "keep.txt matched the family and was not written");
        assertEquals("z", Files.readString(dir.resolve("new.txt")));
    }
}
