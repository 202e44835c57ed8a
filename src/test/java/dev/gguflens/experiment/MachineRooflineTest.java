package dev.gguflens.experiment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** bench's two measurements of the machine's roofs: the higher of each, and when they count as moved. */
class MachineRooflineTest {
    @Test
    void bestTakesTheHigherOfEachRoofOnItsOwn() {
        MachineRoofline.Roofs a = new MachineRoofline.Roofs(18.3, 183.2), b = new MachineRoofline.Roofs(20.0, 95.0);
        assertEquals(new MachineRoofline.Roofs(20.0, 183.2), a.best(b));
        assertEquals(a.best(b), b.best(a));
    }

    @Test
    void rooflinesMoveBeyondFifteenPercentOfTheHigherMeasurement() {
        MachineRoofline.Roofs base = new MachineRoofline.Roofs(20.0, 200.0);
        assertFalse(base.differsFrom(new MachineRoofline.Roofs(17.2, 172.0)), "14% lower on both");
        assertTrue(base.differsFrom(new MachineRoofline.Roofs(16.8, 200.0)), "bandwidth 16% lower");
        assertTrue(base.differsFrom(new MachineRoofline.Roofs(20.0, 168.0)), "FMA peak 16% lower");
        assertTrue(new MachineRoofline.Roofs(16.8, 200.0).differsFrom(base), "either order");
    }

    @Test
    void aRoofMustBeAPositiveMeasurement() {
        assertThrows(IllegalArgumentException.class, () -> new MachineRoofline.Roofs(0, 100));
        assertThrows(IllegalArgumentException.class, () -> new MachineRoofline.Roofs(20, Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> new MachineRoofline.Roofs(-1, 100));
    }

    @Test
    void aResultHasBothMeasurementsOrNeither() {
        MachineRoofline.Roofs r = new MachineRoofline.Roofs(20, 100);
        assertThrows(IllegalArgumentException.class,
                () -> new MatmulBench.Result("synthetic", "v", 1, 1, 0, java.util.List.of(), 1, r, null));
        MatmulBench.Result none = new MatmulBench.Result("synthetic", "v", 1, 1, 0, java.util.List.of(), 1, null, null);
        assertEquals(null, none.roofs());
        assertFalse(none.roofsMoved());
    }
}
