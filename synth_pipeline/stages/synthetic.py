"""The synthetic stage: a generator (:mod:`synth_pipeline.generators`) fitted per generation, its samples
tagged synthetic, its name, parameters and privacy spend recorded."""

from dataclasses import replace

import dagster as dg
import pandas as pd
from pydantic import ConfigDict, Field

from synth_pipeline.categorical_columns import stored_categorical_columns
from synth_pipeline.config_bounds import MAX_EPOCHS, MAX_RATIO, MAX_ROWS
from synth_pipeline.config_validation import validate_config
from synth_pipeline.errors import GeneratorSpecError, SynthPipelineError
from synth_pipeline.generations import current_generation
from synth_pipeline.generators.registry import known_methods, method_problem, resolve_generator
from synth_pipeline.generators.run import generate
from synth_pipeline.identifiers import stored_identifiers
from synth_pipeline.launch_config import launched_op_config
from synth_pipeline.naming import Stage
from synth_pipeline.output_validation import SPEC_OPEN_SETTING, synthesizer_alternative
from synth_pipeline.provenance import DEPTH_COLUMN, user_columns
from synth_pipeline.provenance_stamping import FitInput, GeneratedBy
from synth_pipeline.publishing import publish_declared
from synth_pipeline.rerun_command import run_command_of
from synth_pipeline.spec import FitOn, SynthesizerMethod, SynthesizerSpec, parse_choice
from synth_pipeline.stages.builder import StageBuilder
from synth_pipeline.stages.previous import ALLOW_FAILED_PREVIOUS, read_previous_mix
from synth_pipeline.text_columns import stored_text_columns


class SynthesizerConfig(dg.Config):
    """Run-time overrides of the spec's synthesizer settings (None keeps the spec's).

    Bounded like the spec's settings; strict like them (see :func:`check_launched_config`).
    """

    model_config = ConfigDict(strict=True, allow_inf_nan=False)

    method: str | None = Field(
        default=None, description="A built-in generator (gaussian_copula, ctgan, tvae, dp_privbayes, file) or "
        "package.module:factory; the spec's params apply only when it is the spec's method.")
    fit_on: str | None = Field(
        default=None,
        description="real: this generation's real rows; previous_mix: generation g-1's training mix.",
    )
    rows_per_real_row: float | None = Field(default=None, ge=0, le=MAX_RATIO)
    num_rows: int | None = Field(default=None, ge=0, le=MAX_ROWS,
                                 description="Rows per generation (overrides the ratio).")
    epochs: int | None = Field(default=None, ge=1, le=MAX_EPOCHS, description="Training epochs for ctgan / tvae.")
    allow_failed_previous: bool = ALLOW_FAILED_PREVIOUS


def check_launched_config(context: dg.AssetExecutionContext) -> None:
    """Validate the stage's run config as written, strictly (Dagster turns ``true`` into 1.0 for a number).

    Raises:
        ConfigValueError: A launched value is of the wrong type or out of range.
    """
    launched = launched_op_config(context)
    if launched is not None:
        name, values = launched
        validate_config(
            SynthesizerConfig.model_validate, values, source=f"run config (ops: {name}: config)",
            known_fields=SynthesizerConfig.model_fields,
            fix="Fix the field(s) named (README, 'Launch-time config')",
        )


def build_synthetic(builder: StageBuilder) -> dg.AssetsDefinition:
    """Per generation: fit the synthesizer and sample rows, tagged synthetic at depth d + 1."""
    spec = builder.spec
    settings = spec.synthesizer

    @dg.asset(**builder.asset_kwargs(Stage.SYNTHETIC), ins={"arrivals": builder.input(Stage.REAL_ARRIVALS)})
    def synthetic(
        context: dg.AssetExecutionContext,
        config: SynthesizerConfig,
        arrivals: pd.DataFrame,
    ) -> dg.MaterializeResult:
        synth_pipeline_store = builder.store(context)
        check_launched_config(context)
        generation = current_generation(context)
        method = _method(config.method, settings.method)
        fit_on = parse_choice(FitOn, config.fit_on, settings.fit_on, field="fit_on")
        params = dict(settings.params) if method == settings.method else {}
        if config.epochs is not None:
            if method not in (SynthesizerMethod.CTGAN, SynthesizerMethod.TVAE):
                raise SynthPipelineError(f"config epochs applies to ctgan and tvae only, not {method}")
            params["epochs"] = config.epochs
        with builder.lineage(
            context, synth_pipeline_store, relation="generate", outputs=[Stage.SYNTHETIC],
            inputs={Stage.REAL_ARRIVALS: "sample_size"}, generation=generation,
        ) as lineage:
            if fit_on is FitOn.PREVIOUS_MIX and generation > 1:
                fit_parent, fit_generation = builder.key(Stage.TRAINING_MIX), generation - 1
                fit_input = read_previous_mix(
                    synth_pipeline_store, fit_parent, fit_generation,
                    allow_failed=config.allow_failed_previous, log=context.log,
                    command=run_command_of(context.run, spec.name),
                )
            else:
                fit_parent, fit_generation = builder.key(Stage.REAL_ARRIVALS), generation
                fit_input = arrivals
            fit = FitInput.sampled(fit_parent, str(fit_generation), fit_input, max_rows=settings.max_fit_rows,
                                   seed=spec.seed + generation)
            fit_input = fit.rows
            num_rows = _rows_to_sample(config, settings, len(arrivals))
            sampled = "" if fit.stored_rows is None else (
                f"; a seeded sample of {len(fit.rows):,} of its {len(fit.stored_rows):,} rows, "
                "synthesizer.max_fit_rows")
            context.log.info(f"generation {generation}: {method} fitted on {fit.name} (max depth "
                             f"{int(fit_input[DEPTH_COLUMN].max()) if len(fit_input) else 0}{sampled})")
            identifiers = stored_identifiers(synth_pipeline_store, builder.key(Stage.REAL_SOURCE))
            label_task = builder.label_task(synth_pipeline_store)
            features = fit_input[[c for c in user_columns(fit_input) if c not in identifiers]]
            generated = generate(
                resolve_generator(method, params, log=context.log, label_is_class=not label_task.is_regression,
                                  open_columns=settings.open_categories,
                                  text_columns=stored_text_columns(synth_pipeline_store,
                                                                   builder.key(Stage.REAL_SOURCE)),
                                  categorical_columns=stored_categorical_columns(synth_pipeline_store,
                                                                                 builder.key(Stage.REAL_SOURCE))),
                features, method=method,
                label_column=spec.label_column, num_rows=num_rows, seed=spec.seed + generation,
            )
            provenance = replace(builder.provenance(Stage.SYNTHETIC), generator=generated.info.name,
                                 fitted_on=fit_parent, task=label_task.task.value)
            return publish_declared(
                context, lineage, generated.rows, provenance=provenance, asset_key=builder.key(Stage.SYNTHETIC),
                store=synth_pipeline_store, generation=generation,
                parents=[builder.key(Stage.REAL_ARRIVALS), fit_parent], bin_edges=label_task.bin_edges or None,
                generated_by=GeneratedBy(fit=fit, info=generated.info, fitted=generated.fitted,
                                         alternative=synthesizer_alternative(method), open_setting=SPEC_OPEN_SETTING),
            )

    return synthetic


def _method(launched: str | None, configured: str) -> str:
    """The run config's method (checked like the spec's), else the spec's."""
    if launched is None:
        return configured
    if method_problem(launched) is not None:
        raise GeneratorSpecError(
            f"config method={launched!r} is not one of {known_methods()} nor 'package.module:factory'"
        )
    return launched


def _rows_to_sample(config: SynthesizerConfig, settings: SynthesizerSpec, arrivals: int) -> int:
    """Run config before spec; a fixed row count before a ratio to the arriving rows."""
    if config.num_rows is not None:
        return config.num_rows
    if config.rows_per_real_row is not None:
        return int(round(config.rows_per_real_row * arrivals))
    if settings.num_rows is not None:
        return settings.num_rows
    return int(round(settings.rows_per_real_row * arrivals))
