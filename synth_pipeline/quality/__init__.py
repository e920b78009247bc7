"""Quality gates: fidelity, privacy, utility, diversity and Great Expectations suites."""
