"""The privacy_budget rule: epsilon summed over every fit on the same real rows (sequential composition)."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from generators_data import check, run_with_budget, small_pipeline

from synth_pipeline import SynthesizerSpec, SynthPolicy
from synth_pipeline.errors import ConfigValueError
from synth_pipeline.privacy_budget import privacy_budget
from synth_pipeline.verdicts import Verdict

SOURCE = "bc/real_source"


def _record(generation: int, epsilon: float | None, *, real_rows: int = 100, source: str = SOURCE) -> dict:
    return {"generation": generation, "generator": "datasynthesizer.privbayes" if epsilon else "sdv.gaussian_copula",
            "dp": epsilon is not None, "epsilon": math.nan if epsilon is None else epsilon,
            "delta": math.nan if epsilon is None else 1e-6, "mechanism": "", "fit_real_rows": real_rows,
            "fitted_on": f"bc/real_arrivals[{generation}]", "real_source": source}


def test_epsilons_add_up_over_fits_on_real_rows_only():
    history = pd.DataFrame([_record(1, 0.5), _record(2, 0.25), _record(3, 0.5, real_rows=0),
                            _record(4, 9.0, source="other/real_source"), _record(5, 0.5)])
    outcomes, metadata = privacy_budget(history, generation=5, real_source=SOURCE, max_epsilon=1.0)
    assert metadata["privacy_generations_counted"] == [1, 2, 5]
    assert metadata["privacy_epsilon_total"] == pytest.approx(1.25)
    assert metadata["privacy_delta_total"] == pytest.approx(3e-6)
    assert metadata["privacy_epsilon_this_generation"] == 0.5
    assert [o.verdict for o in outcomes] == [Verdict.FAIL, Verdict.PASS]
    assert outcomes[0].observed == pytest.approx(1.25) and outcomes[0].threshold == 1.0
    assert "earlier generations 0.75" in outcomes[0].evidence()
    assert privacy_budget(history, generation=5, real_source=SOURCE, max_epsilon=1.25)[0][0].verdict is Verdict.PASS


def test_a_fit_without_dp_on_real_rows_is_unbounded_and_unset_max_epsilon_skips():
    history = pd.DataFrame([_record(1, 0.5), _record(2, None)])
    outcomes, metadata = privacy_budget(history, generation=2, real_source=SOURCE, max_epsilon=100.0)
    assert [o.verdict for o in outcomes] == [Verdict.PASS, Verdict.FAIL]
    assert metadata["privacy_epsilon_total"] == math.inf and metadata["privacy_epsilon_this_generation"] == math.inf
    assert "generation 2: sdv.gaussian_copula fitted without a differential-privacy guarantee" in outcomes[1].fix
    skipped, _ = privacy_budget(history, generation=2, real_source=SOURCE, max_epsilon=None)
    assert {o.verdict for o in skipped} == {Verdict.SKIPPED}
    assert "max_epsilon is not set" in skipped[0].evidence()
    nothing, metadata = privacy_budget(pd.DataFrame(), generation=1, real_source=SOURCE, max_epsilon=1.0)
    assert [o.verdict for o in nothing] == [Verdict.PASS, Verdict.PASS] and metadata["privacy_epsilon_total"] == 0


def test_the_epsilon_rule_never_calls_a_passing_sum_unbounded():
    """A fit without DP has no epsilon: the sum of the DP fits' epsilons passes while the line used to say
    "this generation unbounded" beside it. It names the DP fits' own figures and says the other is judged apart."""
    history = pd.DataFrame([_record(1, 0.5), _record(2, None)])
    spent, unbounded = privacy_budget(history, generation=2, real_source=SOURCE, max_epsilon=100.0)[0]
    line = spent.evidence()
    assert spent.verdict is Verdict.PASS and "unbounded" not in line.split(": observed")[0]
    assert ("by the differentially private fits, generations [1] (this generation no DP fit, earlier generations "
            "0.5): observed 0.5 <= limit 100, n = 2 fit(s); not in this sum: 1 fit(s) without a DP guarantee "
            "(generation 2: sdv.gaussian_copula), each an unbounded loss, judged by the rule on such fits") in line
    assert unbounded.verdict is Verdict.FAIL and "n = 2 fit(s)" in unbounded.evidence()
    both = pd.DataFrame([_record(1, 0.5), _record(2, 0.25)])
    assert "(this generation 0.25, earlier generations 0.5): observed 0.75" in \
        privacy_budget(both, generation=2, real_source=SOURCE, max_epsilon=1.0)[0][0].evidence()


@pytest.mark.parametrize("value", [0, -1.0, True, 1e6])
def test_max_epsilon_is_validated(value):
    with pytest.raises(ConfigValueError, match="max_epsilon"):
        SynthPolicy.from_mapping({"max_epsilon": value})


def test_a_non_dp_generator_on_real_rows_is_blocked_when_a_budget_is_set(tmp_path):
    synthesizer = SynthesizerSpec(params={"default_distribution": "norm"})
    pipeline = small_pipeline(tmp_path, synthesizer, name="no_dp")
    [unset] = run_with_budget(pipeline, tmp_path / "a", [1])
    assert check(unset, "privacy_budget").passed
    assert check(unset, "privacy_budget").metadata["verdict"] == "skipped"
    [blocked] = run_with_budget(pipeline, tmp_path / "b", [1], SynthPolicy(max_epsilon=10.0))
    result = check(blocked, "privacy_budget")
    assert not result.passed and result.severity == "ERROR"
    assert "generation 1: sdv.gaussian_copula fitted without a differential-privacy guarantee" in \
        result.metadata["evidence"]
