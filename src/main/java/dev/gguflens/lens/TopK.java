package dev.gguflens.lens;

/**
 * The k best (logit, id) pairs seen so far, as a bounded min-heap whose root is the worst kept entry.
 * Order: higher logit first; equal logits -> lower id first. This makes the result independent of the
 * order tokens are offered in.
 */
final class TopK {
    private final double[] logits;
    private final int[] ids;
    private int size;

    TopK(int capacity) {
        logits = new double[capacity];
        ids = new int[capacity];
    }

    /** True when (a, aId) ranks strictly before (b, bId). */
    static boolean before(double a, int aId, double b, int bId) {
        return a > b || (a == b && aId < bId);
    }

    /** Cheap pre-check for the hot loop: can a token with this logit still enter? */
    boolean mayEnter(double logit) {
        return size < logits.length || logit >= logits[0];
    }

    void offer(double logit, int id) {
        if (size < logits.length) {
            int i = size++;
            logits[i] = logit;
            ids[i] = id;
            siftUp(i);
        } else if (before(logit, id, logits[0], ids[0])) {
            logits[0] = logit;
            ids[0] = id;
            siftDown(0);
        }
    }

    int size() {
        return size;
    }

    /** Kept ids, best first. */
    int[] sortedIds() {
        Integer[] order = sortedOrder();
        int[] out = new int[size];
        for (int i = 0; i < size; i++) out[i] = ids[order[i]];
        return out;
    }

    /** Kept logits, best first (same order as {@link #sortedIds()}). */
    double[] sortedLogits() {
        Integer[] order = sortedOrder();
        double[] out = new double[size];
        for (int i = 0; i < size; i++) out[i] = logits[order[i]];
        return out;
    }

    private Integer[] sortedOrder() {
        Integer[] order = new Integer[size];
        for (int i = 0; i < size; i++) order[i] = i;
        java.util.Arrays.sort(order, (x, y) -> before(logits[x], ids[x], logits[y], ids[y]) ? -1
                : before(logits[y], ids[y], logits[x], ids[x]) ? 1 : 0);
        return order;
    }

    /** Worse-than relation for the min-heap: the root is the entry every other entry ranks before. */
    private boolean worse(int i, int j) {
        return before(logits[j], ids[j], logits[i], ids[i]);
    }

    private void siftUp(int i) {
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (!worse(i, parent)) break;
            swap(i, parent);
            i = parent;
        }
    }

    private void siftDown(int i) {
        while (true) {
            int left = 2 * i + 1;
            if (left >= size) break;
            int worst = left;
            int right = left + 1;
            if (right < size && worse(right, left)) worst = right;
            if (!worse(worst, i)) break;
            swap(i, worst);
            i = worst;
        }
    }

    private void swap(int a, int b) {
        double l = logits[a];
        logits[a] = logits[b];
        logits[b] = l;
        int id = ids[a];
        ids[a] = ids[b];
        ids[b] = id;
    }
}
