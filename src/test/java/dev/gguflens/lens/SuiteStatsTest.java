package dev.gguflens.lens;

import dev.gguflens.lens.SuiteStats.Summary;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.OptionalDouble;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SuiteStatsTest {
    private static List<OptionalDouble> values(Double... v) {
        return Arrays.stream(v).map(d -> d == null ? OptionalDouble.empty() : OptionalDouble.of(d)).toList();
    }

    @Test
    void allPresentUsesLinearInterpolation() {
        // numpy.percentile([1, 2, 3, 4], [25, 50, 75]) = 1.75, 2.5, 3.25
        Summary s = SuiteStats.summarize(values(4.0, 1.0, 3.0, 2.0));
        assertEquals(4, s.count());
        assertEquals(4, s.present());
        assertEquals(1.75, s.q1().getAsDouble(), 1e-15);
        assertEquals(2.5, s.median().getAsDouble(), 1e-15);
        assertEquals(3.25, s.q3().getAsDouble(), 1e-15);
        assertEquals(1.5, s.iqr().getAsDouble(), 1e-15);
        // Odd count: the median is the middle value; numpy.percentile([0, 10, 20, 30, 100], 25) = 10
        Summary odd = SuiteStats.summarize(values(100.0, 0.0, 30.0, 10.0, 20.0));
        assertEquals(20.0, odd.median().getAsDouble());
        assertEquals(10.0, odd.q1().getAsDouble());
        assertEquals(30.0, odd.q3().getAsDouble());
        assertEquals(20.0, odd.iqr().getAsDouble());
        assertEquals(7.0, SuiteStats.summarize(values(7.0)).median().getAsDouble());
        assertEquals(0.0, SuiteStats.summarize(values(7.0)).iqr().getAsDouble());
    }

    @Test
    void absentValuesSortAfterEveryPresentOne() {
        // Sorted: 0.2, 0.4, 0.6, absent, absent -> median 0.6 (h = 2), q1 0.4 (h = 1), q3 absent (h = 3).
        Summary s = SuiteStats.summarize(values(null, 0.6, 0.2, null, 0.4));
        assertEquals(5, s.count());
        assertEquals(3, s.present());
        assertEquals(0.6, s.median().getAsDouble(), 1e-15);
        assertEquals(0.4, s.q1().getAsDouble(), 1e-15);
        assertTrue(s.q3().isEmpty());
        assertTrue(s.iqr().isEmpty());
        // Even count with the upper middle value absent: 0.1, 0.3, absent, absent -> median interpolates into absent.
        assertTrue(SuiteStats.summarize(values(0.3, null, 0.1, null)).median().isEmpty());
        // ... but q1 (h = 0.75) stays between present values: 0.1 + 0.75 * 0.2 = 0.25.
        assertEquals(0.25, SuiteStats.summarize(values(0.3, null, 0.1, null)).q1().getAsDouble(), 1e-15);
        // One absent of four: 1, 2, 3, absent -> median 2.5, q3 (h = 2.25) touches the absent value.
        Summary one = SuiteStats.summarize(values(3.0, null, 1.0, 2.0));
        assertEquals(2.5, one.median().getAsDouble(), 1e-15);
        assertTrue(one.q3().isEmpty());
    }

    @Test
    void emptyAndAllAbsent() {
        Summary none = SuiteStats.summarize(List.of());
        assertEquals(0, none.count());
        assertTrue(none.median().isEmpty() && none.q1().isEmpty() && none.iqr().isEmpty());
        Summary absent = SuiteStats.summarize(values(null, null));
        assertEquals(2, absent.count());
        assertEquals(0, absent.present());
        assertTrue(absent.median().isEmpty());
    }

    @Test
    void quantileEndsAndBadInput() {
        List<OptionalDouble> v = values(5.0, 1.0, 3.0);
        assertEquals(1.0, SuiteStats.quantile(v, 0).getAsDouble());
        assertEquals(5.0, SuiteStats.quantile(v, 1).getAsDouble());
        assertEquals(4.6, SuiteStats.quantile(v, 0.9).getAsDouble(), 1e-12);   // h = 1.8: 3 + 0.8 * 2
        IllegalArgumentException q = assertThrows(IllegalArgumentException.class, () -> SuiteStats.quantile(v, 1.5));
        assertEquals("suite stats: quantile 1.5 is outside [0, 1]", q.getMessage());
        IllegalArgumentException nan = assertThrows(IllegalArgumentException.class,
                () -> SuiteStats.summarize(values(1.0, Double.NaN)));
        assertEquals("suite stats: value 1 is NaN, not finite", nan.getMessage());
    }
}
