"""The reference pipeline, built with synth-pipeline's public API only."""
