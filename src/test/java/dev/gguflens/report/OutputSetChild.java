package dev.gguflens.report;

import java.nio.file.Path;

/** A second process for {@link OutputSetTest}: publishes a two-file set into args[0] with content args[1]. */
public final class OutputSetChild {
    private OutputSetChild() {}

    public static void main(String[] args) throws Exception {
        try (OutputSet set = OutputSet.in(Path.of(args[0]))) {
            set.text("a.txt", w -> w.write(args[1]));
            set.text("b.txt", w -> w.write(args[1]));
            System.out.println("staged");
            System.out.flush();
            set.publish();
        }
    }
}
