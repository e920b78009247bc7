"""The nested blocks of a ``SynthPipelineComponent``'s attributes: executor, schedule, sensor and translation."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dagster as dg
from pydantic import Field

from synth_pipeline.automation import DEFAULT_CRON, build_arrival_sensor, build_generation_schedule
from synth_pipeline.errors import ComponentConfigError
from synth_pipeline.executors import EXECUTOR_KINDS, default_executor
from synth_pipeline.factory import SynthPipeline
from synth_pipeline.naming import Stage, SynthPipelineTranslator
from synth_pipeline.spec import SynthPipelineSpec

MAX_CONCURRENT = 1_024
"""The most steps a component's multiprocess executor may run at once."""


class ExecutorBlock(dg.Resolvable, dg.Model):
    """``executor: {type: multiprocess, max_concurrent: 2}``: what the generation job runs its steps in.

    ``executor: in_process`` (or ``multiprocess``) is short for ``{type: in_process}``.
    """

    type: str = Field(default="in_process", description="in_process (every step in the run's process, the "
                      "default: quickest on small data) or multiprocess (a process per step).")
    max_concurrent: int | None = Field(default=None, description="With multiprocess: steps run at once "
                                       f"(1 to {MAX_CONCURRENT:,}; default: the CPU count).")

    @classmethod
    def of(cls, value: str | ExecutorBlock) -> ExecutorBlock:
        """The block of ``executor:`` as written: a kind, or a mapping."""
        return cls(type=value) if isinstance(value, str) else value

    def build(self, where: str) -> dg.ExecutorDefinition:
        """The executor (:func:`~synth_pipeline.executors.default_executor`); run config may still choose the other.

        Raises:
            ComponentConfigError: An unknown type, or max_concurrent out of range or given with in_process.
        """
        if self.type not in EXECUTOR_KINDS:
            raise ComponentConfigError(
                f"{where}: executor {self.type!r} is not an executor; use in_process (every step in the run's "
                "process: quickest on small data) or multiprocess (a process per step, e.g. "
                "{type: multiprocess, max_concurrent: 4})"
            )
        if self.max_concurrent is not None:
            if self.type != "multiprocess":
                raise ComponentConfigError(
                    f"{where}: executor.max_concurrent applies to multiprocess only (type is {self.type!r}); drop "
                    "it, or set type: multiprocess"
                )
            if not 1 <= self.max_concurrent <= MAX_CONCURRENT:
                raise ComponentConfigError(
                    f"{where}: executor.max_concurrent {self.max_concurrent} is out of range; give a whole number "
                    f"from 1 to {MAX_CONCURRENT:,} (steps run at once), or leave it out for the CPU count"
                )
        return default_executor(self.type, max_concurrent=self.max_concurrent)


class ScheduleBlock(dg.Resolvable, dg.Model):
    """``schedule:``: run the next generation at each tick of a cron schedule (:func:`build_generation_schedule`)."""

    cron: str = Field(default=DEFAULT_CRON, description="When to run, a cron expression (default daily 03:00).")
    timezone: str = Field(default="UTC", description="Time zone of the cron expression, e.g. Europe/Berlin.")
    enabled: bool = Field(default=False, description="Running from the start (true) or stopped until switched on.")

    def build(self, pipeline: SynthPipeline, where: str) -> dg.ScheduleDefinition:
        """The schedule of ``pipeline``.

        Raises:
            ComponentConfigError: The cron expression or the time zone is not valid.
        """
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ComponentConfigError(
                f"{where}: schedule.timezone {self.timezone!r} is not a known time zone; use an IANA name "
                "such as 'UTC' or 'Europe/Berlin'"
            ) from None
        status = dg.DefaultScheduleStatus.RUNNING if self.enabled else dg.DefaultScheduleStatus.STOPPED
        try:
            return build_generation_schedule(
                pipeline, cron_schedule=self.cron, default_status=status, execution_timezone=self.timezone
            )
        except dg.DagsterInvalidDefinitionError:
            raise ComponentConfigError(
                f"{where}: schedule.cron {self.cron!r} is not a cron expression; write five fields "
                "'minute hour day-of-month month day-of-week', e.g. '0 3 * * *' (daily at 03:00)"
            ) from None


class SensorBlock(dg.Resolvable, dg.Model):
    """``sensor:``: run the next generation on each new real-data file (:func:`build_arrival_sensor`)."""

    watch_dir: str | None = Field(
        default=None,
        description="Directory to watch, relative to the component's folder; default incoming/<pipeline> under "
        "the data directory (run config may name files there only).",
    )
    interval_seconds: int = Field(default=30, ge=5, le=86_400, description="Seconds between evaluations.")
    enabled: bool = Field(default=False, description="Running from the start (true) or stopped until switched on.")

    def build(self, pipeline: SynthPipeline, folder: Path) -> dg.SensorDefinition:
        """The new-data sensor of ``pipeline``; a relative ``watch_dir`` is taken from ``folder``."""
        watch = folder / self.watch_dir if self.watch_dir is not None else None
        status = dg.DefaultSensorStatus.RUNNING if self.enabled else dg.DefaultSensorStatus.STOPPED
        return build_arrival_sensor(
            pipeline, watch, minimum_interval_seconds=self.interval_seconds, default_status=status
        )


class TranslationBlock(dg.Resolvable, dg.Model):
    """``translation:``: how the stages' asset keys, group, tags and kinds differ from the defaults."""

    key_prefix: list[str] = Field(
        default_factory=list, description="Put before every asset key, e.g. [team, ml]: team/ml/<pipeline>/<stage>."
    )
    group_name: str | None = Field(default=None, description="The asset group (default: the pipeline name).")
    tags: dict[str, str] = Field(default_factory=dict, description="Added to every stage's tags.")
    kinds: list[str] = Field(default_factory=list, description="Added to every stage's kinds.")

    def translator(self) -> SynthPipelineTranslator:
        """A translator applying this block over the default names."""
        return _BlockTranslator(self)


class _BlockTranslator(SynthPipelineTranslator):
    def __init__(self, block: TranslationBlock) -> None:
        self.block = block

    def get_asset_key(self, spec: SynthPipelineSpec, stage: Stage) -> dg.AssetKey:
        return super().get_asset_key(spec, stage).with_prefix(self.block.key_prefix)

    def get_group_name(self, spec: SynthPipelineSpec) -> str:
        return self.block.group_name or super().get_group_name(spec)

    def get_tags(self, spec: SynthPipelineSpec, stage: Stage) -> dict[str, str]:
        # the provenance tags are the guard rails' evidence: a translation adds tags, never replaces these
        return {**self.block.tags, **super().get_tags(spec, stage)}

    def get_kinds(self, spec: SynthPipelineSpec, stage: Stage) -> set[str]:
        return super().get_kinds(spec, stage) | set(self.block.kinds)
