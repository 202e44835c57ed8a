package dev.gguflens.report;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The probe's output set for one model in --out: per prompt {@code <base>.txt}, {@code .json},
 * {@code -records.csv}, {@code -pure-next-token.csv} and {@code .html}, where the base is the model's name, or
 * {@code <name>-pNNN} with several prompts. Written as one {@link OutputSet}.
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
            for (String suffix : List.of(".txt", ".json", "-records.csv", "-pure-next-token.csv", ".html")) names.add(base + suffix);
        }
        return names;
    }

    public static void write(Path dir, String name, List<ProbeReport> reports) throws IOException {
        try (OutputSet set = OutputSet.in(dir)) {
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
