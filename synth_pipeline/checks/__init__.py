"""Every guard rail as a Dagster asset check, in one place.

- :mod:`~synth_pipeline.checks.guard_rails`: build them all for named asset keys
  (:func:`build_guard_rails`), with their resources and a generation job;
- :mod:`~synth_pipeline.checks.rule_checks`: the one result builder every check goes through, and
  the steps that run an asset's checks together;
- :mod:`~synth_pipeline.checks.provenance_checks`: ``provenance_valid``;
- :mod:`~synth_pipeline.checks.policy_checks`: the policy's rules;
- :mod:`~synth_pipeline.checks.quality_checks`: fidelity, privacy, utility, diversity;
- :mod:`~synth_pipeline.checks.expectation_checks`: Great Expectations suites.
"""
