"""Asset checks of the reference pipeline."""

from synth_pipeline import build_provenance_checks

from assets.pipeline import reference_pipeline

reference_checks = build_provenance_checks(reference_pipeline)
