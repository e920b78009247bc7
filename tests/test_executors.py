"""The preloading executor (issue 16, point 5): step processes forked from a server that imported the code
location and Great Expectations once per run, with in_process still selectable."""

import os

import dagster as dg
import pytest

from synth_pipeline.executors import GX_PRELOAD_MODULE, preloading_executor


def test_the_reference_code_location_starts_steps_from_a_preloading_fork_server():
    from assets.definitions import defs

    for job in defs.resolve_all_job_defs():
        default = job.executor_def.config_schema.as_field().default_value
        assert default["multiprocess"]["start_method"]["forkserver"]["preload_modules"] == [
            "assets.definitions", GX_PRELOAD_MODULE]


@pytest.mark.parametrize("name", ["", "assets/definitions.py", "assets.definitions.", "1assets"])
def test_a_module_that_is_not_a_dotted_name_is_refused(name):
    with pytest.raises(ValueError, match="dotted module name"):
        preloading_executor(name)


@pytest.mark.slow
def test_a_step_starts_in_a_forked_process_with_great_expectations_already_imported(tmp_path, monkeypatch):
    monkeypatch.chdir(os.path.dirname(__file__))  # where the fork server imports preload_job from
    from preload_job import preload_job

    instance = dg.DagsterInstance.local_temp(str(tmp_path))
    with dg.execute_job(dg.reconstructable(preload_job), instance=instance) as result:
        assert result.success
        reported = result.output_for_node("report_imports")
    assert reported["pid"] != os.getpid() and reported["gx_loaded"]

    with dg.execute_job(dg.reconstructable(preload_job), instance=instance,
                        run_config={"execution": {"config": {"in_process": {}}}}) as in_process:
        assert in_process.success and in_process.output_for_node("report_imports")["pid"] == os.getpid()
