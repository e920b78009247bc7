"""A job run with synth_pipeline's preloading executor (tests/test_executors.py): its step reports
whether Great Expectations was already imported when the step started, and in which process."""

import os
import sys

import dagster as dg

from synth_pipeline.executors import preloading_executor


@dg.op
def report_imports() -> dict:
    return {"pid": os.getpid(), "gx_loaded": "great_expectations" in sys.modules}


@dg.job(executor_def=preloading_executor("preload_job", max_concurrent=1))
def preload_job():
    report_imports()
