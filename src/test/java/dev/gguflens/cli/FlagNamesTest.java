package dev.gguflens.cli;

import dev.gguflens.experiment.InvalidInputException;
import dev.gguflens.experiment.ProbeSettings;
import dev.gguflens.lens.LensKind;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** The layers below the CLI name fields; the CLI spells them as its flags. */
class FlagNamesTest {
    @Test
    void settingsNameTheFieldAndTheCliSpellsItAsAFlag() {
        var e = assertThrows(InvalidInputException.class,
                () -> new ProbeSettings(LensKind.NORM, 0, false, 0, 1, 64, List.of()));
        assertEquals("top_k", e.field());
        assertEquals("top_k 0 must be at least 1", e.getMessage(), "below the CLI no flag is spelled");
        assertEquals("--top-k 0 must be at least 1", e.messageNaming(f -> FlagNames.of("probe", f)));
        var threads = assertThrows(InvalidInputException.class,
                () -> new ProbeSettings(LensKind.NORM, 5, false, 0, 0, 64, List.of()));
        assertEquals("-t 0 must be at least 1", threads.messageNaming(f -> FlagNames.of("compare", f)));
    }

    @Test
    void textValuesAreQuotedAndCommandsMaySpellAFieldTheirOwnWay() {
        var e = new InvalidInputException("quantize_types", "Q9_X", "is not a known type");
        assertEquals("--quantize 'Q9_X' is not a known type", e.messageNaming(f -> FlagNames.of("compare", f)));
        assertEquals("TYPE 'Q9_X' is not a known type", e.messageNaming(f -> FlagNames.of("quantize", f)));
        assertEquals("some_new_field 3 is odd", new InvalidInputException("some_new_field", 3, "is odd")
                .messageNaming(f -> FlagNames.of("probe", f)), "a field the CLI does not know is printed as it is");
        var plain = new InvalidInputException("give either -p or --prompts, not both");
        assertNull(plain.field());
        assertEquals(plain.getMessage(), plain.messageNaming(f -> "x"));
    }
}
