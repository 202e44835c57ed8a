package dev.gguflens.experiment;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class PromptSetsTest {
    @TempDir Path dir;

    @Test
    void capitalsSuiteHasSixteenQuestions() {
        List<PromptSpec> suite = PromptSets.builtIn("Capitals");
        assertEquals(16, suite.size());
        assertEquals(new PromptSpec("Question: What is the capital of Germany? Answer:", "Berlin"), suite.getFirst());
        assertTrue(suite.contains(new PromptSpec("Question: What is the capital of Canada? Answer:", "Ottawa")));
        assertEquals(16, suite.stream().map(p -> p.expected().getFirst()).distinct().count());
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> PromptSets.builtIn("rivers"));
        assertEquals("suite 'rivers' is unknown (built-in suites: capitals)", e.getMessage());
    }

    @Test
    void jsonlReadsStringsAndListsAndNamesTheBadLine() throws Exception {
        Path f = Files.writeString(dir.resolve("p.jsonl"), "{\"prompt\": \"a\", \"expected\": \"x\"}\n\n"
                + "{\"prompt\": \"b\", \"expected\": [\"y\", \"z\"]}\n{\"prompt\": \"c\"}\n");
        assertEquals(List.of(new PromptSpec("a", "x"), new PromptSpec("b", "y", "z"), new PromptSpec("c")), PromptSets.readJsonl(f));
        Path bad = Files.writeString(dir.resolve("bad.jsonl"), "{\"prompt\": \"a\"}\n{\"text\": \"b\"}\n");
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> PromptSets.readJsonl(bad));
        assertEquals(bad + " line 2: not a prompt record (no \"prompt\")", e.getMessage());
    }
}
