package dev.gguflens.cli;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.gguflens.experiment.SublayerSites;
import dev.gguflens.llama.Capture;
import dev.gguflens.llama.ContextParams;
import dev.gguflens.llama.LlamaContext;
import dev.gguflens.llama.LlamaModel;
import dev.gguflens.llama.ModelParams;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static dev.gguflens.testmodels.Fixtures.requireNative;
import static dev.gguflens.testmodels.Fixtures.stories260K;
import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code probe --sublayers} on stories260K: a mid row (site "mid") between every block's input and output rows in
 * the JSON, text, CSV and HTML, each mid row lensing llama.cpp's ffn_inp-i (its norm recomputed here from a capture).
 */
class ProbeSublayersTest {
    @BeforeAll
    static void nativeLibrary() {
        requireNative();
    }

    @Test
    void midRowsBetweenEveryBlocksInputAndOutput(@TempDir Path dir) throws IOException {
        Path out = dir.resolve("r");
        CliRun r = CliRun.of("probe", "-m", stories260K().toString(), "-p", ProbeCommandTest.STORY, "--expect", "Lily",
                "--sublayers", "--out", out.toString(), "-t", "1");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("Layer  0 + attn (block 0 mid):"), r.out());
        assertTrue(r.out().contains("Layer  4 + attn (block 4 mid):"), r.out());

        JsonObject json = JsonParser.parseString(Files.readString(out.resolve("stories260K.json"))).getAsJsonObject();
        JsonArray layers = json.getAsJsonArray("layers");
        assertEquals(11, layers.size(), "5 blocks: 6 residual rows and 5 mid rows");
        List<String> sites = new ArrayList<>();
        List<Integer> numbers = new ArrayList<>();
        for (var e : layers) {
            sites.add(e.getAsJsonObject().get("site").getAsString());
            numbers.add(e.getAsJsonObject().get("layer").getAsInt());
        }
        assertEquals(List.of("block_in", "mid", "block_out", "mid", "block_out", "mid", "block_out", "mid", "block_out", "mid",
                "block_out"), sites);
        assertEquals(List.of(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5), numbers);
        for (var p : json.getAsJsonArray("positions")) {
            assertEquals(11, p.getAsJsonObject().getAsJsonArray("layers").size());
        }
        assertEquals(1, json.getAsJsonObject("milestones").getAsJsonObject("first_rank1").get("layer").getAsInt() >= 0 ? 1 : 0);

        // each mid row lenses ffn_inp-i: its residual norm is that tensor's norm at the last position
        try (LlamaModel model = LlamaModel.load(stories260K(), ModelParams.defaults());
             LlamaContext ctx = LlamaContext.create(model, new ContextParams(64, 64, 1))) {
            int[] tokens = model.tokenize(ProbeCommandTest.STORY, true, false);
            try (Capture c = ctx.capture(tokens, SublayerSites.request(model.layerCount(), false))) {
                for (int block = 0; block < model.layerCount(); block++) {
                    float[] mid = SublayerSites.mid(c, block, tokens.length - 1).orElseThrow()
                            .toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT);
                    double norm = 0;
                    for (float v : mid) norm += (double) v * v;
                    norm = Math.sqrt(norm);
                    double reported = layers.get(2 * block + 1).getAsJsonObject().get("residual_norm").getAsDouble();
                    assertEquals(norm, reported, 1e-5 * norm, "block " + block + " mid row");
                    double input = layers.get(2 * block).getAsJsonObject().get("residual_norm").getAsDouble();
                    assertNotEquals(input, reported, "the mid row is not the block input");
                }
            }
        }

        String csv = Files.readString(out.resolve("stories260K-records.csv"));
        assertTrue(csv.startsWith("layer,pos,token_id,token,entropy_nats,entropy_bits,top_ids,top_tokens,top_probs,site\n"));
        assertEquals(14 * 5, csv.lines().filter(l -> l.endsWith(",mid")).count(), "a mid row per block and position");
        String html = Files.readString(out.resolve("stories260K.html"));
        assertTrue(html.contains("data-site=\"mid\""), "the heatmap has mid rows");
        assertTrue(html.contains(">L2+attn<"), "mid rows are labelled");
    }
}
