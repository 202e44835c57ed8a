package dev.gguflens.report;

import dev.gguflens.experiment.ProbeReport;
import dev.gguflens.experiment.ProbeReport.LayerEntry;
import dev.gguflens.experiment.ProbeReport.PositionEntry;

import java.util.ArrayList;
import java.util.List;

/**
 * The layer x position grid that the HTML and PNG heatmaps draw: rows are layers in report order (layer 0,
 * the embeddings, first), columns are prompt positions. Built from {@code r.positions()} when the probe kept
 * every position, otherwise from {@code r.layers()} as a single column for the last position.
 */
record HeatmapGrid(List<Integer> layers, List<Column> columns) {

    /** One prompt position: its index, token and the lens result of every layer there (same order as {@code layers}). */
    record Column(int pos, int tokenId, String token, List<LayerEntry> cells) {}

    LayerEntry cell(int row, int column) {
        return columns.get(column).cells().get(row);
    }

    int rowCount() {
        return layers.size();
    }

    int columnCount() {
        return columns.size();
    }

    /** The largest entropy in the grid, in bits (the top of the entropy colour scale). */
    double maxEntropyBits() {
        double max = 0;
        for (Column c : columns) for (LayerEntry l : c.cells()) max = Math.max(max, l.entropyBits());
        return max;
    }

    static HeatmapGrid of(ProbeReport r) {
        if (r.layers() == null || r.layers().isEmpty()) {
            throw new IllegalArgumentException("report has no layers: nothing to draw a heatmap from");
        }
        List<Column> columns = new ArrayList<>();
        if (r.positions() != null && !r.positions().isEmpty()) {
            for (PositionEntry p : r.positions()) columns.add(new Column(p.pos(), p.id(), p.token(), p.layers()));
        } else {
            if (r.tokens() == null || r.tokens().isEmpty()) {
                throw new IllegalArgumentException("report has no prompt tokens: cannot label the last position");
            }
            int last = r.tokens().size() - 1;
            ProbeReport.TokenInfo t = r.tokens().get(last);
            columns.add(new Column(last, t.id(), t.text(), r.layers()));
        }
        List<Integer> layers = columns.getFirst().cells().stream().map(LayerEntry::layer).toList();
        for (Column c : columns) {
            List<Integer> here = c.cells().stream().map(LayerEntry::layer).toList();
            if (!here.equals(layers)) {
                throw new IllegalArgumentException("position " + c.pos() + " has layers " + here
                        + " but position " + columns.getFirst().pos() + " has " + layers + ": the grid must be rectangular");
            }
            for (LayerEntry l : c.cells()) {
                if (l.top() == null || l.top().isEmpty()) {
                    throw new IllegalArgumentException("layer " + l.layer() + " at position " + c.pos() + " has no top tokens");
                }
            }
        }
        return new HeatmapGrid(layers, List.copyOf(columns));
    }

    /** Row label: "L0 emb" for the embeddings, "L1" ... for the output of block 0 ... */
    static String layerLabel(int layer) {
        return layer == 0 ? "L0 emb" : "L" + layer;
    }

    /** A row's label: as {@link #layerLabel(int)}, and "L3+attn" for the mid row of block 3 (layer 3 plus its attention). */
    static String rowLabel(LayerEntry l) {
        return l.mid() ? "L" + l.layer() + "+attn" : layerLabel(l.layer());
    }

    /** The label of grid row {@code row}. */
    String rowLabel(int row) {
        return rowLabel(columns.getFirst().cells().get(row));
    }
}
