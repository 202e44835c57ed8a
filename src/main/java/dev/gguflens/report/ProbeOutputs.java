package dev.gguflens.report;

import dev.gguflens.experiment.ProbeReport;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The probe's output set for one model in --out: per prompt {@code <base>.txt}, {@code .json},
 * {@code -records.csv}, {@code -pure-next-token.csv} and {@code .html}, where the base is the model's name, or
 * {@code <name>-pNNN} with several prompts. Written as one {@link OutputSet} that replaces the model's previous
 * set: those files of an earlier run that this one does not write (its other prompts, or the single-prompt
 * names) are deleted when it is published. A different model whose own name is {@code <name>-pNNN} would lose
 * its files to that rule; model names are file names, so such a clash is left to the user.
 */
public final class ProbeOutputs {
    private ProbeOutputs() {}

    /** The base name of prompt {@code index} (0-based) among {@code prompts}. */
    static String base(String name, int index, int prompts) {
        return prompts == 1 ? name : String.format(Locale.ROOT, "%s-p%03d", name, index + 1);
    }

    /** Every file name of the set, in writing order. */
    public static List<String> fileNames(String name, int prompts) {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < prompts; i++) {
            String base = base(name, i, prompts);
            for (String suffix : SUFFIXES) names.add(base + suffix);
        }
        return names;
    }

    static final List<String> SUFFIXES = List.of(".txt", ".json", "-records.csv", "-pure-next-token.csv", ".html");

    /** Every name a set of model {@code name} can have, whatever its prompt count. */
    static Pattern family(String name) {
        String suffixes = SUFFIXES.stream().map(Pattern::quote).collect(Collectors.joining("|"));
        return Pattern.compile(Pattern.quote(name) + "(-p\\d{3,})?(" + suffixes + ")");
    }

    public static void write(Path dir, String name, List<ProbeReport> reports) throws IOException {
        try (OutputSet set = OutputSet.in(dir).replacing(family(name))) {
            for (int i = 0; i < reports.size(); i++) {
                ProbeReport r = reports.get(i);
                String base = base(name, i, reports.size());
                set.text(base + ".txt", w -> TextReport.write(r, true, w));
                set.text(base + ".json", w -> Json.write(r, w));
                set.text(base + "-records.csv", w -> CsvReports.writeRecords(r, w));
                set.text(base + "-pure-next-token.csv", w -> CsvReports.writePureNextToken(r, w));
                set.text(base + ".html", w -> HtmlReport.write(r, w));
            }
            set.publish();
        }
    }
}
