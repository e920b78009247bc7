"""The preloading executor (issue 16, point 5): step processes forked from a server that imported the code
location and Great Expectations once per run, with in_process still selectable."""

import json
import os
import subprocess
import sys
from pathlib import Path

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


# Run in a process of its own: Python keeps one fork server per process, and one left in a pytest
# worker would serve later tests' runs with this test's preload and environment.
_RUN = """
import json, os, sys
import dagster as dg
from preload_job import preload_job

instance = dg.DagsterInstance.local_temp(sys.argv[1])
found = {"test_pid": os.getpid()}
with dg.execute_job(dg.reconstructable(preload_job), instance=instance) as result:
    found["forked"] = result.success and result.output_for_node("report_imports")
with dg.execute_job(dg.reconstructable(preload_job), instance=instance,
                    run_config={"execution": {"config": {"in_process": {}}}}) as result:
    found["in_process"] = result.success and result.output_for_node("report_imports")
print(json.dumps(found))
"""


@pytest.mark.slow
def test_a_step_starts_in_a_forked_process_with_great_expectations_already_imported(tmp_path):
    tests = Path(__file__).parent  # where the fork server imports preload_job from
    path = os.pathsep.join([str(tests), str(tests.parent), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path}
    completed = subprocess.run([sys.executable, "-c", _RUN, str(tmp_path)], capture_output=True, text=True,
                               timeout=600, cwd=tests, env=env)
    assert completed.returncode == 0, completed.stderr[-3000:]
    found = json.loads(completed.stdout.strip().splitlines()[-1])
    assert found["forked"]["pid"] != found["test_pid"] and found["forked"]["gx_loaded"]
    assert found["in_process"]["pid"] == found["test_pid"]
