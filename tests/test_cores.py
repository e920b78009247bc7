"""Thread pools are bounded by the cores this process may use (issue 16: unbounded OpenMP threads spun
on busy machines and on runners that see more CPUs than they may use)."""

import os

import pytest
from threadpoolctl import threadpool_info

from synth_pipeline import cores
from synth_pipeline.modeling import SINGLE_THREAD_ROWS, model_threads


@pytest.mark.parametrize(("cpu_max", "expected"), [
    ("150000 100000\n", 2), ("100000 100000\n", 1), ("max 100000\n", None), ("garbage\n", None), ("", None),
])
def test_a_cgroup_cpu_quota_is_read_as_whole_cpus(tmp_path, monkeypatch, cpu_max, expected):
    quota = tmp_path / "cpu.max"
    quota.write_text(cpu_max)
    monkeypatch.setattr(cores, "_CGROUP_CPU_MAX", quota)
    assert cores._cgroup_quota() == expected
    allowed = len(os.sched_getaffinity(0))
    assert cores.available_cores() == (min(allowed, expected) if expected else allowed)


def _openmp_threads() -> list[int]:
    return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "openmp"]


def test_model_threads_are_one_on_small_data_and_the_allowed_cores_on_large(tmp_path, monkeypatch):
    import sklearn.ensemble  # noqa: F401  (loads scikit-learn's OpenMP runtime before the limits apply)

    with model_threads(SINGLE_THREAD_ROWS - 1):
        assert set(_openmp_threads()) == {1}
    monkeypatch.setattr(os, "getloadavg", lambda: (0.3, 0.3, 0.3))  # an idle machine
    with model_threads(10 * SINGLE_THREAD_ROWS):
        assert set(_openmp_threads()) == {cores.available_cores()}
    monkeypatch.setattr(os, "getloadavg", lambda: (40.0, 40.0, 40.0))  # other work holds every core
    with model_threads(10 * SINGLE_THREAD_ROWS):
        assert set(_openmp_threads()) == {1}
    monkeypatch.setattr(os, "getloadavg", lambda: (0.3, 0.3, 0.3))
    quota = tmp_path / "cpu.max"
    quota.write_text("100000 100000\n")  # a runner allowed one CPU, whatever the machine has
    monkeypatch.setattr(cores, "_CGROUP_CPU_MAX", quota)
    with model_threads(10 * SINGLE_THREAD_ROWS):
        assert set(_openmp_threads()) == {1}


@pytest.mark.parametrize(("load", "allowed", "expected"), [
    (0.2, 2, 2), (1.0, 2, 2), (1.4, 2, 2), (1.6, 2, 1), (10.0, 2, 1), (3.0, 8, 6), (0.0, 1, 1), (60.0, 64, 5),
])
def test_idle_cores_leave_out_the_cores_other_work_keeps_busy(monkeypatch, load, allowed, expected):
    """The load average counts this process's own thread as one: alone on 2 cores, 2 threads."""
    monkeypatch.setattr(cores, "available_cores", lambda: allowed)
    monkeypatch.setattr(os, "getloadavg", lambda: (load, load, load))
    assert cores.idle_cores() == expected


def test_idle_cores_fall_back_to_the_available_cores_without_a_load_average(monkeypatch):
    def unreadable():
        raise OSError("no load average")

    monkeypatch.setattr(os, "getloadavg", unreadable)
    assert cores.idle_cores() == cores.available_cores()
