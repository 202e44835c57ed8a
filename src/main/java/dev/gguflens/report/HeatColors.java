package dev.gguflens.report;

/**
 * The heatmaps' colour scales, shared by HTML and PNG so both read the same. Probability: light yellow (0)
 * to dark blue (1), so confident cells stand out. Entropy: dark (0 bits, confident) to light (the grid's
 * maximum), a different hue family so the two modes cannot be confused.
 */
final class HeatColors {
    private HeatColors() {}

    // Colour stops (0xRRGGBB) at evenly spaced points of [0, 1]; sequential, perceptually ordered by lightness.
    private static final int[] PROBABILITY_STOPS = {0xffffe0, 0xc7e9b4, 0x7fcdbb, 0x41b6c4, 0x1d91c0, 0x225ea8, 0x0c2c84};
    private static final int[] ENTROPY_STOPS = {0x4a1486, 0x6a51a3, 0x9e6fb0, 0xd4849f, 0xf4a582, 0xfdd7a0, 0xfff5eb};

    static int probability(double p) {
        return interpolate(PROBABILITY_STOPS, p);
    }

    static int entropy(double bits, double maxBits) {
        return interpolate(ENTROPY_STOPS, maxBits <= 0 ? 0 : bits / maxBits);
    }

    /** Black or white, whichever contrasts more with {@code background} (WCAG relative luminance). */
    static int textOn(int background) {
        return luminance(background) > 0.36 ? 0x000000 : 0xffffff;
    }

    static double luminance(int rgb) {
        return 0.2126 * linear(rgb >> 16 & 0xff) + 0.7152 * linear(rgb >> 8 & 0xff) + 0.0722 * linear(rgb & 0xff);
    }

    static String css(int rgb) {
        return String.format("#%06x", rgb & 0xffffff);
    }

    /** CSS linear-gradient stops for a legend bar, left = scale minimum. */
    static String cssGradient(boolean forEntropy) {
        int[] stops = forEntropy ? ENTROPY_STOPS : PROBABILITY_STOPS;
        StringBuilder sb = new StringBuilder("linear-gradient(to right");
        for (int stop : stops) sb.append(", ").append(css(stop));
        return sb.append(')').toString();
    }

    private static double linear(int channel) {
        double c = channel / 255.0;
        return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    }

    private static int interpolate(int[] stops, double t) {
        if (Double.isNaN(t)) t = 0;
        t = Math.clamp(t, 0.0, 1.0);
        double scaled = t * (stops.length - 1);
        int i = Math.min((int) scaled, stops.length - 2);
        double f = scaled - i;
        int a = stops[i], b = stops[i + 1];
        int r = (int) Math.round((a >> 16 & 0xff) * (1 - f) + (b >> 16 & 0xff) * f);
        int g = (int) Math.round((a >> 8 & 0xff) * (1 - f) + (b >> 8 & 0xff) * f);
        int bl = (int) Math.round((a & 0xff) * (1 - f) + (b & 0xff) * f);
        return r << 16 | g << 8 | bl;
    }
}
