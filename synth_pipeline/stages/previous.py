"""Reading the previous generation's training mix, refusing one that failed its checks.

When the mix a generation needs is missing or quarantined, the error says why and how to
go on, in the situation at hand: generation g-1 was never run; or a blocking check on one
of its assets (named, with its evidence line from the quarantine record) stopped it
before its mix; or a step failed before the mix; or the mix itself failed a check.
"""

import dagster as dg
import pandas as pd
from pydantic import Field

from synth_pipeline.errors import GenerationError, StoredDataNotFoundError
from synth_pipeline.generations import generation_key
from synth_pipeline.rerun_command import RUN_COMMAND
from synth_pipeline.storage import DatasetStore

ALLOW_FAILED_PREVIOUS = Field(
    default=False,
    description="Use generation g-1's training mix even if a blocking check failed on it "
    "(for simulations of the loop only; recorded in the metadata).",
)

def read_previous_mix(
    store: DatasetStore, mix_key: dg.AssetKey, generation: int, *, allow_failed: bool, log: dg.DagsterLogManager,
    command: str = RUN_COMMAND,
) -> pd.DataFrame:
    """Generation ``generation``'s stored training mix.

    ``command`` is the command that runs the pipeline's generations, named in the hints
    (:func:`~synth_pipeline.rerun_command.run_command_of`).

    Raises:
        GenerationError: It was never materialized (the message says why: see
            :func:`missing_mix_explanation`), or a blocking check failed on it and
            ``allow_failed`` is off: a mix that broke the policy must not seed the next
            generation.
    """
    partition = generation_key(generation)
    try:
        previous = store.read(mix_key, partition)
    except StoredDataNotFoundError as error:
        raise GenerationError(missing_mix_explanation(store, mix_key, generation, command)) from error
    failed = store.quarantine_reasons(mix_key, partition)
    if failed and not allow_failed:
        raise GenerationError(
            f"generation {generation} of {mix_key.to_user_string()} failed blocking checks "
            + "; ".join(f"{name} ({reason})" for name, reason in sorted(failed.items()))
            + f". To go on: fix the cause and run generation {generation} again ({command} --start "
            f"{generation}) before building on it; or build on it knowingly, for a simulation of the loop, with "
            f"allow_failed_previous: true in the synthetic and training_mix run config ({command} "
            "--keep-going sets it)"
        )
    if failed:
        log.warning(f"building on generation {generation}, which failed checks {sorted(failed)} (allowed by config)")
    return previous


def missing_mix_explanation(
    store: DatasetStore, mix_key: dg.AssetKey, generation: int, command: str = RUN_COMMAND
) -> str:
    """Why generation ``generation``'s training mix is not stored, and how to go on (with ``command``,
    the command that runs the pipeline's generations).

    Looks at what the generation left in the store: quarantine records of blocking checks
    that failed on its assets (check, asset and evidence line), else whether any of its
    assets is stored at all (a run that stopped on a failed step) or none (never run).
    Assets count as the pipeline's when their key shares the mix key's prefix.
    """
    where = f"generation {generation} of {mix_key.to_user_string()}"
    following = generation + 1
    blocked = generation_quarantines(store, mix_key, generation)
    if blocked:
        checks = "; ".join(f"check {check} on {asset}, generation {generation}: {reason}"
                           for asset, check, reason in blocked)
        return (
            f"{where} was not built: blocking check(s) failed in generation {generation} and stopped it before its "
            f"training mix ({checks}). To go on: fix that cause and run generation {generation} again "
            f"({command} --start {generation}), then generation {following}. A later generation cannot "
            f"skip it: generation {following}'s checks measure the growth of the synthetic share against it, and "
            "allow_failed_previous (--keep-going) cannot help, since no mix was built to build on"
        )
    if generation_stored(store, mix_key, generation):
        return (
            f"{where} was not built: generation {generation}'s run stopped before its training mix, and no "
            "synth-pipeline check recorded a failure (a step failed, or a blocking check of your own: see that "
            "run's errors in the Dagster UI or in synth-pipeline run's output). To go "
            f"on: fix that cause and run generation {generation} again ({command} --start {generation}), "
            f"then generation {following}"
        )
    stored = set(stored_generation_numbers(store, mix_key))
    first = next(g for g in range(1, generation + 1) if g not in stored)  # the first never run, for the hint
    return (
        f"{where} has not been materialized: generation {generation} has not been run under "
        f"{store.stage_location}. Run the generations in order, from generation {first} ({command} --start "
        f"{first} --generations {following - first + 1}, to generation {following}), or {command} --next"
    )


def _pipeline_assets(store: DatasetStore, mix_key: dg.AssetKey) -> list[dg.AssetKey]:
    """Asset keys with a directory in the store that share ``mix_key``'s prefix (its pipeline's assets)."""
    prefix = mix_key.path[:-1]
    base = store.stage_root.joinpath(*prefix)
    if not base.is_dir():
        return []
    return [dg.AssetKey([*prefix, child.name]) for child in sorted(base.iterdir(), key=lambda c: c.name)
            if child.is_dir()]


def generation_quarantines(
    store: DatasetStore, mix_key: dg.AssetKey, generation: int
) -> list[tuple[str, str, str]]:
    """``(asset, check, reason)`` for each blocking check that failed on a generation's stored assets."""
    partition = generation_key(generation)
    return [
        (key.to_user_string(), check, reason)
        for key in _pipeline_assets(store, mix_key)
        for check, reason in sorted(store.quarantine_reasons(key, partition).items())
    ]


def generation_stored(store: DatasetStore, mix_key: dg.AssetKey, generation: int) -> bool:
    """Whether any of the pipeline's assets is stored for a generation (its run started)."""
    partition = generation_key(generation)
    return any(store.exists(key, partition) for key in _pipeline_assets(store, mix_key))


def stored_generation_numbers(store: DatasetStore, mix_key: dg.AssetKey) -> list[int]:
    """The generations for which any of the pipeline's tables is stored (their runs started), ascending."""
    keys = _pipeline_assets(store, mix_key)
    return sorted({generation for key in keys for generation in store.stored_generations(key)})
