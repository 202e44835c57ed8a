package dev.gguflens.report;

import dev.gguflens.experiment.AttributionReport;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;

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

    /** The file names of a prompt set's outputs: the summary's txt, json and csv, then one JSON per prompt. */
    public static List<String> summaryFileNames(String name, int prompts) {
        List<String> names = new java.util.ArrayList<>();
        String base = name + "-attribution";
        for (String suffix : List.of("-summary.txt", "-summary.json", "-summary.csv")) names.add(base + suffix);
        for (int i = 0; i < prompts; i++) names.add(String.format(java.util.Locale.ROOT, "%s-p%03d.json", base, i + 1));
        return names;
    }

    /** Writes a prompt set's summary and every prompt's JSON into {@code dir} as one set. */
    public static void writeSummary(Path dir, String name, AttributionSummary summary, List<AttributionReport> reports, int top)
            throws IOException {
        List<String> names = summaryFileNames(name, reports.size());
        // An earlier, larger prompt set's per-prompt JSON files would look like part of this one: replaced.
        Pattern perPrompt = Pattern.compile(Pattern.quote(name + "-attribution-p") + "\\d{3,}\\.json");
        try (OutputSet files = OutputSet.in(dir).replacing(perPrompt)) {
            files.text(names.get(0), w -> AttributionSummaryText.write(summary, top, w));
            files.text(names.get(1), w -> Json.write(summary, w));
            files.text(names.get(2), w -> AttributionSummaryText.writeCsv(summary, w));
            for (int i = 0; i < reports.size(); i++) {
                AttributionReport r = reports.get(i);
                files.text(names.get(3 + i), w -> Json.write(r, w));
            }
            files.publish();
        }
    }

    /** Writes the set for {@code report} into {@code dir}; {@code top} is the text table's list length. */
    public static void write(Path dir, String name, AttributionReport report, int top) throws IOException {
        List<String> names = fileNames(name);
        try (OutputSet files = OutputSet.in(dir)) {
            files.text(names.get(0), w -> AttributionText.write(report, top, w));
            files.text(names.get(1), w -> Json.write(report, w));
            files.text(names.get(2), w -> AttributionCsv.write(report, w));
            files.text(names.get(3), w -> AttributionHtml.write(report, w));
            files.publish();
        }
    }
}
