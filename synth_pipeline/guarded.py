"""Which Dagster assets the guard rails watch, by the role each plays, and how their
partitions map to generations.

The guard rails (:mod:`synth_pipeline.checks.guard_rails`) need to know, for a pipeline, which
asset holds the sealed real holdout, which the real rows available for training, which
assets hold generated rows (synthetic, augmented) or rows of unknown provenance, which
the training mix and which the evaluation. :class:`GuardedAssets` names them by asset
key: the template (:func:`~synth_pipeline.build_synth_pipeline`) builds one from its
spec, and a team with its own assets builds one for theirs.

Generations. A generation is one training cycle: numbered 1, 2, .... For a partitioned
asset it is derived from the partition key by a :class:`GenerationMap`:

- ``GenerationMap.number()`` (the default): the key is the number (``"1"``, ``"2"``, ...);
- ``GenerationMap.position(partitions_def)``: generation *i* is the *i*-th key of a
  static or time-window partitions definition (e.g. ``"2026-q1"`` -> 1);
- ``GenerationMap(function)``: any function from partition key to generation number.

An unpartitioned asset that is produced once per generation gives its generation as the
output metadata value ``synth_pipeline/generation`` (or the run tag of that name); its
checks read it back from the latest materialization. Stored data is kept per generation
number (``<data_dir>/<asset key>/<generation>.parquet``) whatever the partition keys are,
so the checks of every asset compare generations, not keys.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import dagster as dg

from synth_pipeline.errors import GenerationError, SynthPipelineError
from synth_pipeline.generations import parse_generation
from synth_pipeline.naming import PARTITIONED_STAGES, STORE_KEY, Stage

GENERATION_METADATA = "synth_pipeline/generation"
"""Output metadata key (and run tag) giving the generation of an unpartitioned per-generation asset."""


@dataclass(frozen=True)
class GenerationMap:
    """How partition keys map to generation numbers (see the module docs).

    Attributes:
        function: Partition key -> generation (>= 1). None: the key is the number.
        keys: For ``position`` over a list: the ordered partition keys (generation i is keys[i - 1]).
        partitions: For ``position`` over a partitions definition: read for its keys at each lookup,
            so a time-window definition's new windows map to new generations (its earlier keys
            keep their positions: windows are counted from the definition's start).
    """

    function: Callable[[str], int] | None = None
    keys: tuple[str, ...] = ()
    partitions: dg.PartitionsDefinition | None = None

    @classmethod
    def number(cls) -> GenerationMap:
        """Partition keys are the generation numbers ``"1"``, ``"2"``, ...."""
        return cls()

    @classmethod
    def position(cls, partitions_def: dg.PartitionsDefinition | Iterable[str]) -> GenerationMap:
        """Generation *i* is the *i*-th key of ``partitions_def`` (static or time-window), or of a key list.

        Raises:
            SynthPipelineError: The definition or list has no key, or is dynamic (its keys have no
                fixed order: map them with ``GenerationMap(function)``).
        """
        if isinstance(partitions_def, dg.DynamicPartitionsDefinition):
            raise SynthPipelineError(
                f"GenerationMap.position cannot order the keys of dynamic partitions {partitions_def.name!r}: name "
                "generations by number (generations_partitions) or map keys with GenerationMap(function)")
        if isinstance(partitions_def, dg.PartitionsDefinition):
            if not partitions_def.get_partition_keys():
                raise SynthPipelineError("GenerationMap.position needs a partitions definition with at least one key")
            return cls(partitions=partitions_def)
        keys = tuple(partitions_def)
        if not keys:
            raise SynthPipelineError("GenerationMap.position needs a partitions definition with at least one key")
        return cls(keys=keys)

    def generation(self, partition_key: str) -> int:
        """The generation of a partition key.

        Raises:
            GenerationError: The key does not map to a generation >= 1.
        """
        keys = tuple(self.partitions.get_partition_keys()) if self.partitions is not None else self.keys
        if keys:
            if partition_key not in keys:
                raise GenerationError(
                    f"partition key {partition_key!r} is not one of the {len(keys)} keys this generation map "
                    f"reads ({keys[0]!r} .. {keys[-1]!r}); map it with GenerationMap(function) if it is a "
                    "generation of this pipeline")
            return keys.index(partition_key) + 1
        if self.function is None:
            if not partition_key.isdigit():
                raise GenerationError(
                    f"partition key {partition_key!r} is not a generation number: map such keys to generations with "
                    "GenerationMap.position(partitions_def) (static or time-window partitions) or "
                    "GenerationMap(function), passed to provenance_asset(generations=...) and "
                    "GuardedAssets(generations=...)")
            return parse_generation(partition_key)
        generation = self.function(partition_key)
        if not isinstance(generation, int) or isinstance(generation, bool) or generation < 1:
            raise GenerationError(
                f"the generation map gave {generation!r} for partition key {partition_key!r}; it must return a "
                "generation number >= 1")
        return generation


_GENERATION_MAPS: dict[dg.AssetKey, GenerationMap] = {}


def register_generation_map(key: dg.AssetKey, generations: GenerationMap) -> None:
    """Remember how an asset's partition keys map to generations (its stored files are per generation)."""
    _GENERATION_MAPS[key] = generations


def stored_partition(key: dg.AssetKey, partition_key: str) -> str:
    """The stored partition (generation number) of an asset's partition key."""
    generations = _GENERATION_MAPS.get(key)
    return partition_key if generations is None else str(generations.generation(partition_key))


@dataclass(frozen=True)
class GuardedAssets:
    """The assets one pipeline's guard rails watch, by role.

    Attributes:
        name: The pipeline's name: it prefixes the policy resource (``<name>_policy``) and
            is recorded in lineage.
        label_column: The target column (class label or, for regression, a number).
        real_holdout: The sealed real holdout (only evaluation may read it).
        training_mix: Each generation's training set (rows keep their provenance).
        real_train: The real rows available for training (the holdout's complement);
            compared with generated rows for diversity and privacy. Default: none, then
            the real source (if given) stands in.
        real_source: The real data as ingested (identifier columns are resolved there).
        real_arrivals: The real rows arriving in each generation (a generator's default fit input).
        synthetic: Assets of synthetic rows (one or more generators).
        augmented: Assets of augmented rows (e.g. SMOTE).
        unknown: Assets of rows of unknown provenance.
        evaluation: The evaluation on the sealed holdout (see
            :func:`synth_pipeline.evaluation_report.holdout_scores`).
        model_factory: ``module:function`` of the model the utility checks refit
            (default: the template's histogram gradient boosting).
        seed: Seeds the checks' resampling.
        open_categories: Columns whose generated values may be new (see
            :class:`~synth_pipeline.spec.SynthesizerSpec`).
        generations: How partition keys map to generations.
        task: ``auto``, ``classification`` or ``regression`` (see :mod:`synth_pipeline.task`).
        holdout_fraction: The share sealed in the holdout (sets the number of label bins
            of a regression target).
        store_key: The resource key of the dataset store the checks read (default
            ``synth_pipeline_store``; ``<name>_store`` for a pipeline built with ``scoped_resources``).
    """

    name: str
    label_column: str
    real_holdout: dg.AssetKey
    training_mix: dg.AssetKey
    real_train: dg.AssetKey | None = None
    real_source: dg.AssetKey | None = None
    real_arrivals: dg.AssetKey | None = None
    synthetic: tuple[dg.AssetKey, ...] = ()
    augmented: tuple[dg.AssetKey, ...] = ()
    unknown: tuple[dg.AssetKey, ...] = ()
    evaluation: dg.AssetKey | None = None
    model_factory: str = "synth_pipeline.modeling:default_classifier"
    seed: int = 0
    open_categories: tuple[str, ...] = ()
    generations: GenerationMap = field(default_factory=GenerationMap)
    task: str = "auto"
    holdout_fraction: float = 0.2
    store_key: str = STORE_KEY

    def __post_init__(self) -> None:
        for name in ("real_holdout", "training_mix", "real_train", "real_source", "real_arrivals", "evaluation"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, dg.AssetKey):
                object.__setattr__(self, name, dg.AssetKey.from_coercible(value))
        for name in ("synthetic", "augmented", "unknown"):
            value = getattr(self, name)
            if isinstance(value, (str, dg.AssetKey)):
                value = (value,)
            object.__setattr__(self, name, tuple(dg.AssetKey.from_coercible(k) for k in value))
        object.__setattr__(self, "open_categories", tuple(self.open_categories))
        keys = [k for _, k in self.roles()]
        repeated = sorted({k.to_user_string() for k in keys if keys.count(k) > 1})
        if repeated:
            raise SynthPipelineError(f"asset(s) {repeated} given for more than one role of {self.name}'s guard "
                                     "rails; each asset plays one role")

    def roles(self) -> list[tuple[Stage, dg.AssetKey]]:
        """Every (role, asset key) present."""
        single = [
            (Stage.REAL_SOURCE, self.real_source), (Stage.REAL_HOLDOUT, self.real_holdout),
            (Stage.REAL_TRAIN, self.real_train), (Stage.REAL_ARRIVALS, self.real_arrivals),
            (Stage.TRAINING_MIX, self.training_mix), (Stage.EVALUATION, self.evaluation),
        ]
        many = [(Stage.SYNTHETIC, k) for k in self.synthetic] + [(Stage.AUGMENTED, k) for k in self.augmented] + [
            (Stage.UNKNOWN, k) for k in self.unknown]
        return [(stage, key) for stage, key in single + many if key is not None]

    @property
    def stages(self) -> tuple[Stage, ...]:
        """The roles present."""
        return tuple(dict.fromkeys(stage for stage, _ in self.roles()))

    def keys(self, stage: Stage) -> tuple[dg.AssetKey, ...]:
        """Every asset playing ``stage``."""
        return tuple(key for role, key in self.roles() if role is stage)

    def key(self, stage: Stage) -> dg.AssetKey:
        """The asset playing ``stage``; for real_train the real source stands in when absent.

        Raises:
            SynthPipelineError: No asset, or more than one, plays it.
        """
        keys = self.keys(stage)
        if not keys and stage is Stage.REAL_TRAIN and self.real_source is not None:
            return self.real_source
        if len(keys) != 1:
            raise SynthPipelineError(
                f"{self.name}'s guard rails need exactly one {stage.value} asset here, found "
                f"{[k.to_user_string() for k in keys]}: name it in GuardedAssets({stage.value}=...)")
        return keys[0]

    def per_generation(self, stage: Stage) -> bool:
        """Whether assets of this role are produced once per generation (stored per generation)."""
        return stage in PARTITIONED_STAGES


def as_guarded(pipeline: GuardedAssets | Any) -> GuardedAssets:
    """``pipeline`` as guarded assets: itself, or a template pipeline's :attr:`~synth_pipeline.SynthPipeline.guarded`.

    Raises:
        SynthPipelineError: It is neither.
    """
    if isinstance(pipeline, GuardedAssets):
        return pipeline
    guarded = getattr(pipeline, "guarded", None)
    if isinstance(guarded, GuardedAssets):
        return guarded
    raise SynthPipelineError(
        f"guard rails are built for GuardedAssets (or a SynthPipeline), not {type(pipeline).__name__}")
