"""Reading the previous generation's training mix, refusing one that failed its checks."""

import dagster as dg
import pandas as pd
from pydantic import Field

from synth_pipeline.errors import GenerationError, StoredDataNotFoundError
from synth_pipeline.generations import generation_key
from synth_pipeline.storage import DatasetStore

ALLOW_FAILED_PREVIOUS = Field(
    default=False,
    description="Use generation g-1's training mix even if a blocking check failed on it "
    "(for simulations of the loop only; recorded in the metadata).",
)


def read_previous_mix(
    store: DatasetStore, mix_key: dg.AssetKey, generation: int, *, allow_failed: bool, log: dg.DagsterLogManager
) -> pd.DataFrame:
    """Generation ``generation``'s stored training mix.

    Raises:
        GenerationError: It was never materialized, or a blocking check failed on it and
            ``allow_failed`` is off: a mix that broke the policy must not seed the next
            generation.
    """
    partition = generation_key(generation)
    try:
        previous = store.read(mix_key, partition)
    except StoredDataNotFoundError as error:
        raise GenerationError(
            f"generation {generation} of {mix_key.to_user_string()} has not been materialized: run the "
            f"generations in order (synth-pipeline run --generations {generation + 1})"
        ) from error
    failed = store.quarantine_reasons(mix_key, partition)
    if failed and not allow_failed:
        raise GenerationError(
            f"generation {generation} of {mix_key.to_user_string()} failed blocking checks {sorted(failed)} "
            f"({'; '.join(failed.values())}); fix and re-run generation {generation} before building on it, "
            "or set allow_failed_previous for a simulation"
        )
    if failed:
        log.warning(f"building on generation {generation}, which failed checks {sorted(failed)} (allowed by config)")
    return previous
