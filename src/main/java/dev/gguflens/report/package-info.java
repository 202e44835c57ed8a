/**
 * The renderings of experiment's result records (text, JSON, CSV, HTML, SVG, PNG) and
 * {@link dev.gguflens.report.OutputSet}, which stages every report, image and quantised variant and publishes a set's
 * files together. It uses the packages below it (experiment's records, gguf's escaping), never cli.
 */
package dev.gguflens.report;
