"""Asset checks of the reference pipeline."""

from assets.pipeline import reference_pipeline
from synth_pipeline import build_provenance_checks

reference_checks = build_provenance_checks(reference_pipeline)
