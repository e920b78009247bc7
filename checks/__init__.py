"""The reference pipeline's policy: the limits its asset checks enforce.

The checks themselves (provenance validity and the seven policy checks) are added by
``SynthPipeline.to_definitions``; edit ``policy.yaml`` to change the limits.
"""

from pathlib import Path

from synth_pipeline import SynthPolicy

POLICY_FILE = Path(__file__).with_name("policy.yaml")

reference_policy = SynthPolicy.from_yaml(POLICY_FILE)
