"""Generations: one training cycle each, modelled as Dagster dynamic partitions.

Generation keys are the decimal numbers ``"1"``, ``"2"``, ... . Dynamic partitions
(rather than static ones) let a pipeline add generations as it runs, and show each
generation's materializations, checks and metadata side by side in the Dagster UI.
"""

from __future__ import annotations

import re

import dagster as dg

from synth_pipeline.errors import GenerationError


def generations_partitions(pipeline_name: str) -> dg.DynamicPartitionsDefinition:
    """The dynamic partitions holding a pipeline's generations."""
    return dg.DynamicPartitionsDefinition(name=f"{pipeline_name}_generations")


def generation_key(generation: int) -> str:
    """The partition key of a generation number."""
    if generation < 1:
        raise GenerationError(f"generations are numbered from 1, got {generation}")
    return str(generation)


def parse_generation(partition_key: str) -> int:
    """The generation number of a partition key.

    Raises:
        GenerationError: The key is not a positive decimal number.
    """
    if not re.fullmatch(r"[1-9][0-9]*", partition_key):
        raise GenerationError(
            f"generation partition key {partition_key!r} is not a positive number without leading "
            "zeros; add "
            "generations as '1', '2', ... (synth-pipeline run does this for you)"
        )
    return int(partition_key)


def current_generation(context: dg.AssetExecutionContext) -> int:
    """The generation a partitioned stage is materializing."""
    return parse_generation(context.partition_key)
