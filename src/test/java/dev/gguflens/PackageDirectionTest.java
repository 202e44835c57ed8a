package dev.gguflens;

import dev.gguflens.testmodels.Fixtures;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The packages depend one way, in the order of the data flow: gguf -> quant -> llama -> lens -> experiment -> report
 * -> cli; each may use only those before it. {@code download} stands alone: it uses none of them and only cli uses it.
 * Every class of src/main/java is read, its imports and fully qualified names in code (comments and strings
 * skipped); a failure names the file and the reference. Test sources follow the same order (a test of lens may not
 * reach report or cli: a test that needs them belongs to their package), and every test may use the one fixture home
 * {@code testmodels}, which itself sits at llama's place: it writes and opens models through gguf and llama only.
 */
class PackageDirectionTest {
    private static final List<String> ORDER = List.of("gguf", "quant", "llama", "lens", "experiment", "report", "cli");
    private static final String STANDALONE = "download";
    /** Which packages may use the stand-alone one. */
    private static final List<String> STANDALONE_USERS = List.of("cli");
    /** The test fixture home: usable by every test, never by main code; it may use the packages up to llama. */
    private static final String FIXTURES = "testmodels";
    private static final String FIXTURES_PLACE = "llama";
    private static final Pattern REFERENCE = Pattern.compile("\\bdev\\.gguflens\\.([a-z]\\w*)\\.[A-Za-z_*]");

    @Test
    void everyPackageUsesOnlyThoseBeforeIt() throws IOException {
        List<String> problems = check("src/main/java/dev/gguflens", false);
        if (!problems.isEmpty()) fail(problems.size() + " reference(s) against the package order:\n  " + String.join("\n  ", problems));
    }

    @Test
    void everyTestPackageUsesOnlyThoseBeforeItAndTheFixtures() throws IOException {
        List<String> problems = check("src/test/java/dev/gguflens", true);
        if (!problems.isEmpty()) fail(problems.size() + " test reference(s) against the package order:\n  " + String.join("\n  ", problems));
    }

    /** The references against the order in every package folder under {@code tree}; classes directly in it are skipped. */
    private static List<String> check(String tree, boolean tests) throws IOException {
        Path root = Fixtures.projectDir().resolve(tree);
        List<String> problems = new ArrayList<>();
        List<String> packages;
        try (Stream<Path> dirs = Files.list(root)) {
            packages = dirs.filter(Files::isDirectory).map(d -> d.getFileName().toString()).sorted().toList();
        }
        if (!tests) assertTrue(packages.containsAll(ORDER) && packages.contains(STANDALONE), "packages found: " + packages);
        for (String pkg : packages) {
            if (!ORDER.contains(pkg) && !pkg.equals(STANDALONE) && !(tests && pkg.equals(FIXTURES))) {
                problems.add(tree + ": package " + pkg + " has no place in the order " + ORDER + ": add it to this test and README's map");
                continue;
            }
            try (Stream<Path> files = Files.walk(root.resolve(pkg))) {
                for (Path file : files.filter(f -> f.toString().endsWith(".java")).sorted().toList()) {
                    String rel = Fixtures.projectDir().relativize(file).toString();
                    problems.addAll(violations(pkg, rel, Files.readString(file), tests));
                }
            }
        }
        return problems;
    }

    /** The checker itself: an upward import, an upward qualified name and a use of download are caught; comments are not. */
    @Test
    void theCheckCatchesUpwardReferences() {
        String source = """
                package dev.gguflens.lens;
                import dev.gguflens.quant.WeightMatrix;
                import dev.gguflens.report.OutputSet;
                import static dev.gguflens.cli.Main.run;
                import dev.gguflens.report.*;
                /** see {@link dev.gguflens.report.Json} */
                class X { Object o = dev.gguflens.experiment.Probe.class; String s = "dev.gguflens.cli.Main"; // dev.gguflens.cli.Main
                  Object d = dev.gguflens.download.ModelRef.class; }
                """;
        List<String> found = violations("lens", "X.java", source);
        assertEquals(List.of(
                "X.java (lens) uses dev.gguflens.report.OutputSet (report comes after lens)",
                "X.java (lens) uses dev.gguflens.cli.Main (cli comes after lens)",
                "X.java (lens) uses dev.gguflens.report.* (report comes after lens)",
                "X.java (lens) uses dev.gguflens.experiment.Probe (experiment comes after lens)",
                "X.java (lens) uses dev.gguflens.download.ModelRef (download is used only by " + STANDALONE_USERS + ")"), found);
        assertEquals(List.of("D.java (download) uses dev.gguflens.gguf.GgufFile (download stands alone)"),
                violations("download", "D.java", "package dev.gguflens.download; import dev.gguflens.gguf.GgufFile;"));
        assertEquals(List.of(), violations("cli", "C.java", "import dev.gguflens.download.ModelRef; import dev.gguflens.report.Json;"));
        // Tests: the fixture home is open to all, closed to main code, and itself stays at llama's place.
        assertEquals(List.of(), violations("gguf", "T.java", "import dev.gguflens.testmodels.Fixtures;", true));
        assertEquals(List.of("T.java (experiment) uses dev.gguflens.cli.Main (cli comes after experiment)"),
                violations("experiment", "T.java", "import dev.gguflens.testmodels.Fixtures; import dev.gguflens.cli.Main;", true));
        assertEquals(List.of("M.java (lens) uses dev.gguflens.testmodels.Fixtures (testmodels is no known package)"),
                violations("lens", "M.java", "import dev.gguflens.testmodels.Fixtures;"));
        assertEquals(List.of("F.java (testmodels) uses dev.gguflens.lens.LogitLens (lens comes after testmodels (at llama's place))"),
                violations("testmodels", "F.java", "import dev.gguflens.llama.LlamaModel; import dev.gguflens.lens.LogitLens;", true));
    }

    static List<String> violations(String pkg, String file, String source) {
        return violations(pkg, file, source, false);
    }

    /** The references in {@code source} (a file of package {@code pkg}, main or test code) that break the order. */
    static List<String> violations(String pkg, String file, String source, boolean testSource) {
        List<String> out = new ArrayList<>();
        Matcher m = REFERENCE.matcher(code(source));
        while (m.find()) {
            String used = m.group(1);
            if (used.equals(pkg)) continue;
            String problem = testSource ? testProblem(pkg, used) : problem(pkg, used);
            if (problem != null) out.add(file + " (" + pkg + ") uses " + qualifiedName(source, m) + " (" + problem + ")");
        }
        return out;
    }

    private static String problem(String pkg, String used) {
        if (pkg.equals(STANDALONE)) return STANDALONE + " stands alone";
        if (used.equals(STANDALONE)) return STANDALONE_USERS.contains(pkg) ? null : STANDALONE + " is used only by " + STANDALONE_USERS;
        int from = ORDER.indexOf(pkg);
        int to = ORDER.indexOf(used);
        if (to < 0) return used + " is no known package";
        return to > from ? used + " comes after " + pkg : null;
    }

    private static String testProblem(String pkg, String used) {
        if (used.equals(FIXTURES)) return null;
        if (!pkg.equals(FIXTURES)) return problem(pkg, used);
        boolean after = used.equals(STANDALONE) || ORDER.indexOf(used) > ORDER.indexOf(FIXTURES_PLACE);
        return after ? used + " comes after " + FIXTURES + " (at " + FIXTURES_PLACE + "'s place)" : problem(FIXTURES_PLACE, used);
    }

    private static String qualifiedName(String source, Matcher m) {
        Matcher name = Pattern.compile("[\\w.]+\\*?").matcher(code(source));
        return name.find(m.start()) ? name.group().replaceAll("\\.[a-z]\\w*$", "") : m.group();
    }

    /** {@code source} with comments and string and character literals blanked (same length, so offsets hold). */
    private static String code(String source) {
        StringBuilder out = new StringBuilder(source);
        int i = 0;
        int n = source.length();
        while (i < n) {
            char c = source.charAt(i);
            int end;
            if (source.startsWith("//", i)) {
                end = source.indexOf('\n', i);
                if (end < 0) end = n;
            } else if (source.startsWith("/*", i)) {
                end = source.indexOf("*/", i + 2);
                end = end < 0 ? n : end + 2;
            } else if (source.startsWith("\"\"\"", i)) {
                end = source.indexOf("\"\"\"", i + 3);
                end = end < 0 ? n : end + 3;
            } else if (c == '"' || c == '\'') {
                end = i + 1;
                while (end < n && source.charAt(end) != c && source.charAt(end) != '\n') end += source.charAt(end) == '\\' ? 2 : 1;
                end = Math.min(n, end + 1);
            } else {
                i++;
                continue;
            }
            for (int k = i; k < end; k++) if (out.charAt(k) != '\n') out.setCharAt(k, ' ');
            i = end;
        }
        return out.toString();
    }

    /** The order as README states it, so the two cannot drift apart. */
    @Test
    void readmeStatesTheSameOrder() throws IOException {
        String readme = Files.readString(Fixtures.projectDir().resolve("README.md"));
        List<String> rows = new ArrayList<>();
        Matcher row = Pattern.compile("(?m)^\\| `dev\\.gguflens\\.(\\w+)` \\|").matcher(readme);
        while (row.find()) rows.add(row.group(1));
        List<String> expected = new ArrayList<>(ORDER);
        expected.add(expected.indexOf("cli"), STANDALONE);
        assertEquals(expected, rows, "README's package map lists the packages in their order, " + STANDALONE + " before cli");
    }
}
