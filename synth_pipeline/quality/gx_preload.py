"""Importing this module imports great_expectations: a preload module for Dagster's fork server.

Dagster's multiprocess executor starts every step in a new process. With its default ``spawn``
start method each ``expectations`` check step pays the GX import (2-3 s of CPU) again. Started
with ``forkserver`` instead, step processes are forked from one server process that imports the
``preload_modules`` once per run, so naming this module there makes GX imported once per run::

    execution:
      config:
        multiprocess:
          start_method:
            forkserver:
              preload_modules: [assets.definitions, synth_pipeline.quality.gx_preload]

(An explicit list replaces Dagster's default, which preloads the code location's module: name
that module too.) Nothing else imports this module; :mod:`synth_pipeline.quality.gx_runtime`
imports GX lazily everywhere else.
"""

from synth_pipeline.quality.gx_runtime import great_expectations

great_expectations()
