/**
 * The experiments run on a loaded model ({@link dev.gguflens.experiment.ModelSession}): the probe, the quantisation
 * comparison, attribution, causal trace, ablation and the matmul bench, and the result records they fill
 * ({@link dev.gguflens.experiment.ProbeReport}, {@link dev.gguflens.experiment.CompareReport},
 * {@link dev.gguflens.experiment.AttributionReport}, {@link dev.gguflens.experiment.TraceReport},
 * {@link dev.gguflens.experiment.AblationReport}). It uses gguf, quant, llama and lens, never report or cli: it returns
 * results, and the caller renders and writes them ({@code PackageDirectionTest} holds the order).
 */
package dev.gguflens.experiment;
