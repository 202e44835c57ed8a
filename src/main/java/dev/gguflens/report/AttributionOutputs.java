package dev.gguflens.report;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * The attribution's output set in --out: {@code <name>-attribution.txt}, {@code .json}, {@code .csv} and
 * {@code .html}, written as one {@link OutputSet}.
 */
public final class AttributionOutputs {
    private AttributionOutputs() {}

    /** Every file name of the set, in writing order. */
    public static List<String> fileNames(String name) {
        String base = name + "-attribution";
        return List.of(base + ".txt", base + ".json", base + ".csv", base + ".html");
    }

    /** Writes the set for {@code report} into {@code dir}; {@code top} is the text table's list length. */
    public static void write(Path dir, String name, AttributionReport report, int top) throws IOException {
        List<String> names = fileNames(name);
        try (OutputSet files = OutputSet.in(dir)) {
            files.text(names.get(0), w -> AttributionText.write(report, top, w));
            files.text(names.get(1), w -> AttributionJson.write(report, w));
            files.text(names.get(2), w -> AttributionCsv.write(report, w));
            files.text(names.get(3), w -> AttributionHtml.write(report, w));
            files.publish();
        }
    }
}
