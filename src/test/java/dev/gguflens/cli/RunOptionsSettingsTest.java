package dev.gguflens.cli;

import dev.gguflens.experiment.AnswerMode;
import dev.gguflens.experiment.ProbeSettings;
import dev.gguflens.lens.LensKind;
import dev.gguflens.llama.FlashAttention;
import dev.gguflens.llama.GpuPlacement;
import dev.gguflens.llama.KvCacheType;
import dev.gguflens.llama.SplitMode;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Option;

import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every run option reaches the settings of probe and compare, which take them from {@link RunOptions#sessionSettings}
 * (the one place options become {@link ProbeSettings}) and add only their own fields.
 */
class RunOptionsSettingsTest {
    /** Every RunOptions option with a value other than its default. */
    private static final List<String> RUN_OPTIONS = List.of("--lens", "raw", "-ngl", "3", "-mg", "1", "-sm", "row",
            "-t", "3", "-c", "512", "--force-context", "--kv-type", "q8_0", "--flash-attn", "on", "--repack", "on");
    /** --rpc registers servers with llama.cpp when a command starts (connectRpcServers); it is no part of the settings. */
    private static final List<String> NOT_SETTINGS = List.of("--rpc");

    private static final ProbeSettings EXPECTED = new ProbeSettings(LensKind.RAW, 7, false, 3, 3, 512, List.of(),
            KvCacheType.Q8_0, FlashAttention.ON, AnswerMode.SEQUENCE, true, new GpuPlacement(1, SplitMode.ROW), true);

    @Test
    void everyRunOptionReachesProbeAndCompare() {
        assertEquals(EXPECTED, compare(args("compare")).settings());
        assertEquals(EXPECTED.withAllPositions(true).withTemperatures(List.of(0.5, 1.5)),
                probe(args("probe", "--positions", "all", "--temperatures", "0.5,1.5")).settings());
    }

    @Test
    void defaultsAreTheSessionDefaults() {
        int cores = Runtime.getRuntime().availableProcessors();
        ProbeSettings defaults = new ProbeSettings(LensKind.NORM, 10, false, -1, cores, 0, List.of(), null, null,
                AnswerMode.FIRST, false, GpuPlacement.DEFAULT, null);
        assertEquals(defaults, compare(List.of("compare", "-m", "a.gguf", "-p", "x")).settings());
        assertEquals(defaults, probe(List.of("probe", "-m", "a.gguf", "-p", "x")).settings());
    }

    /** A new option in RunOptions fails here until this test sets it and checks that it arrives. */
    @Test
    void theTestSetsEveryRunOption() {
        List<String> declared = new ArrayList<>();
        for (Field f : RunOptions.class.getDeclaredFields()) {
            Option option = f.getAnnotation(Option.class);
            if (option != null) declared.add(option.names()[0]);
        }
        assertTrue(declared.size() >= 11, "RunOptions' options: " + declared);
        for (String name : declared) {
            assertTrue(RUN_OPTIONS.contains(name) || NOT_SETTINGS.contains(name),
                    "RunOptions' " + name + " is not set by this test: add it to RUN_OPTIONS and to EXPECTED");
        }
    }

    private static List<String> args(String command, String... extra) {
        List<String> args = new ArrayList<>(List.of(command, "-m", "a.gguf", "-p", "x", "--top-k", "7", "--answer-mode", "sequence"));
        args.addAll(RUN_OPTIONS);
        args.addAll(List.of(extra));
        return args;
    }

    private static ProbeCommand probe(List<String> args) {
        return (ProbeCommand) parsed(args);
    }

    private static CompareCommand compare(List<String> args) {
        return (CompareCommand) parsed(args);
    }

    private static Object parsed(List<String> args) {
        CommandLine.ParseResult result = Main.newCommandLine().parseArgs(args.toArray(String[]::new));
        return result.subcommand().commandSpec().userObject();
    }
}
