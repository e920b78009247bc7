"""The reference pipeline's policy: the limits its asset checks enforce.

The checks themselves (provenance validity, the seven policy checks and the quality
checks) are added by ``SynthPipeline.to_definitions``; edit ``policy.yaml`` to change the
limits. ``expectations/`` holds the Great Expectations suite of each stage, and
``expectations_reviews/`` those of the text reference pipeline (:mod:`assets.text_pipeline`).
"""

from pathlib import Path

from synth_pipeline import SynthPolicy

POLICY_FILE = Path(__file__).with_name("policy.yaml")
EXPECTATIONS_DIR = Path(__file__).with_name("expectations")
REVIEWS_EXPECTATIONS_DIR = Path(__file__).with_name("expectations_reviews")

reference_policy = SynthPolicy.from_yaml(POLICY_FILE)
