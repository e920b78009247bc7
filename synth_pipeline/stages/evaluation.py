"""Evaluation on the sealed real holdout, next to real-only and synthetic-only baselines.

Each generation's evaluation also writes the generation report (:mod:`synth_pipeline.report`):
an HTML page with the per-generation plots, whose path and key plot are in its metadata.
"""

from typing import Any

import dagster as dg
import pandas as pd

from synth_pipeline.display import shown_float
from synth_pipeline.generations import current_generation
from synth_pipeline.holdout_scores import evaluation_set_proof
from synth_pipeline.identifiers import stored_identifiers
from synth_pipeline.metrics import CLASSIFICATION_METRICS as METRICS
from synth_pipeline.metrics import REGRESSION_METRICS, chance_score, tstr_trtr_ratio, tstr_trtr_skill_ratio
from synth_pipeline.model_cache import ModelCache, model_cache
from synth_pipeline.modeling import score_classifier, score_regressor, train_classifier
from synth_pipeline.naming import Stage
from synth_pipeline.provenance import KIND_COLUMN, ProvenanceKind, dataset_kind
from synth_pipeline.publishing import publish_declared
from synth_pipeline.stages.builder import StageBuilder
from synth_pipeline.storage import DatasetStore
from synth_pipeline.task import Task, model_factory, primary_metric
from synth_pipeline.text_columns import stored_text_columns

LABEL_COLUMN_METADATA = "synth_pipeline/label_column"
"""Definition metadata of the evaluation asset naming the label (``synth-pipeline report`` reads it)."""


def build_evaluation(builder: StageBuilder) -> dg.AssetsDefinition:
    """Per generation: score the model and two baselines on the real holdout.

    - ``training_mix``: the downstream model, trained on the generation's mix;
    - ``real_only`` (train on real, test on real, TRTR): same estimator, the mix's real rows;
    - ``synthetic_only`` (train on synthetic, test on real, TSTR): same estimator, the
      mix's synthetic rows (in accumulate mode, those of every generation so far).

    For a regression label (:mod:`synth_pipeline.task`) the models are regressors and the
    scores R² (primary), MAE and RMSE; the ratios are
    :func:`~synth_pipeline.quality.utility.tstr_trtr_ratio` for both tasks. Next to them:
    ``chance_score`` (the primary score of a model that learned nothing: 1/k balanced
    accuracy for the holdout's k classes, R² 0) and the ratios on skill above it
    (``tstr_trtr_skill_ratio``, ``mix_trtr_skill_ratio``). Whether ``real_only`` is clearly
    above chance, so that the ratio says anything, is judged by the ``evaluation_on_real``
    check (its bootstrap bound); the run summary says so next to the ratio.

    Then it writes the generation report and adds its path (``report``), key plot
    (``report_plot``, Markdown with an inline PNG) and key figures per generation
    (``report_table``) to the metadata (:func:`~synth_pipeline.report.ui.report_metadata`).
    Scores and ratios in the metadata are rounded for display; the stored frame keeps them
    exact. A report that cannot be built is logged as a warning (``report_error``); the
    evaluation itself stands.
    """
    spec = builder.spec
    label = spec.label_column
    holdout_key = builder.key(Stage.REAL_HOLDOUT)

    kwargs = builder.asset_kwargs(Stage.EVALUATION)
    kwargs["metadata"] = {**kwargs["metadata"], LABEL_COLUMN_METADATA: label}

    @dg.asset(
        **kwargs,
        ins={
            "model": builder.input(Stage.MODEL),
            "holdout": builder.input(Stage.REAL_HOLDOUT),
            "mix": builder.input(Stage.TRAINING_MIX),
        },
    )
    def evaluation(
        context: dg.AssetExecutionContext,
        model: Any,
        holdout: pd.DataFrame,
        mix: pd.DataFrame,
    ) -> dg.MaterializeResult:
        synth_pipeline_store = builder.store(context)
        generation = current_generation(context)
        with builder.lineage(
            context, synth_pipeline_store, relation="evaluate", outputs=[Stage.EVALUATION],
            inputs={Stage.MODEL: "model", Stage.REAL_HOLDOUT: "holdout", Stage.TRAINING_MIX: "data"},
            generation=generation,
        ) as lineage:
            identifiers = stored_identifiers(synth_pipeline_store, builder.key(Stage.REAL_SOURCE))
            task = builder.label_task(synth_pipeline_store).task
            text = stored_text_columns(synth_pipeline_store, builder.key(Stage.REAL_SOURCE))
            report, metadata = _evaluate(context, model, holdout, mix, generation, identifiers, task,
                                         model_cache(synth_pipeline_store), text)
            # The per-class table of the report would list a regression label's values: left out.
            metadata.update(_generation_report(context, synth_pipeline_store, report, generation,
                                               label if task is Task.CLASSIFICATION else None))
            return publish_declared(
                context, lineage, report, provenance=builder.provenance(Stage.EVALUATION),
                asset_key=builder.key(Stage.EVALUATION), store=synth_pipeline_store, generation=generation,
                metadata=metadata)

    def _generation_report(
        context: dg.AssetExecutionContext, store: DatasetStore, report: pd.DataFrame, generation: int,
        label_column: str | None,
    ) -> dict[str, Any]:
        from synth_pipeline.report import build_generation_report, report_metadata

        try:
            written = build_generation_report(
                store, {stage: builder.key(stage) for stage in Stage}, pipeline=spec.name, generation=generation,
                label_column=label_column, current_evaluation=report, run_id=context.run_id,
            )
        except Exception as error:  # the report is for people; the gates are the checks
            context.log.warning(f"generation {generation} report not written: {type(error).__name__}: {error}")
            return {"report_error": f"{type(error).__name__}: {error}"}
        context.log.info(f"generation {generation} report: {written.path} ({written.seconds:.1f}s)")
        return report_metadata(written)

    def _evaluate(
        context: dg.AssetExecutionContext, model: Any, holdout: pd.DataFrame, mix: pd.DataFrame, generation: int,
        identifiers: list[str], task: Task, cache: ModelCache, text: list[str],
    ) -> tuple[pd.DataFrame, dict[str, Any]]:
        regression = task is Task.REGRESSION
        metrics, primary_name = (REGRESSION_METRICS if regression else METRICS), primary_metric(task)
        score = score_regressor if regression else score_classifier
        least = "two label values" if regression else "two classes"
        candidates = {"training_mix": (model, len(mix))}
        for name, kind in (("real_only", ProvenanceKind.REAL), ("synthetic_only", ProvenanceKind.SYNTHETIC)):
            rows = mix[mix[KIND_COLUMN] == kind.value]
            if rows[label].nunique() >= 2:
                # the real-only fit is the utility checks' TRTR baseline when they trained on the same rows
                fitted = train_classifier(rows, label_column=label, factory=model_factory(spec.model.factory, task),
                                          seed=spec.seed, exclude=identifiers, text=text,
                                          cache=cache if kind is ProvenanceKind.REAL else None)
                candidates[name] = (fitted, len(rows))
            else:
                context.log.warning(f"{name}: {len(rows)} rows with fewer than {least}; not scored")
                candidates[name] = (None, len(rows))
        records = []
        for name, (estimator, train_rows) in candidates.items():
            scores = (
                score(estimator, holdout, label_column=label)
                if estimator is not None
                else dict.fromkeys(metrics, float("nan"))
            )
            records.append({"trained_on": name, "train_rows": train_rows, **scores})
        report = pd.DataFrame.from_records(records)
        report["evaluated_on"] = holdout_key.to_user_string()
        report["holdout_rows"] = len(holdout)
        # Proof of what was scored on: the evaluation_on_real check compares it with the holdout.
        for column, value in evaluation_set_proof(holdout).items():
            report[column] = value
        report["generation"] = generation
        report["task"] = task.value
        report["primary_metric"] = primary_name
        primary = report.set_index("trained_on")[primary_name]
        tstr_trtr = tstr_trtr_ratio(primary["synthetic_only"], primary["real_only"])
        mix_trtr = tstr_trtr_ratio(primary["training_mix"], primary["real_only"])
        # what a model that learned nothing scores: the ratios mean little where real_only is near it
        chance = chance_score(primary_name, int(holdout[label].nunique()))
        context.log.info(
            f"generation {generation} on {len(holdout)} real holdout rows: {primary_name} "
            + ", ".join(f"{k}={v:.3f}" for k, v in primary.items())
        )
        metadata: dict[str, Any] = {
            f"{row['trained_on']}_{metric}": shown_float(row[metric])
            for row in records
            for metric in metrics
        }
        metadata.update(
            {
                "generation": generation,
                "evaluated_on": holdout_key.to_user_string(),
                "holdout_rows": len(holdout),
                "holdout_provenance": dataset_kind(holdout),
                "primary_metric": primary_name,
                "task": task.value,
                "tstr_trtr_ratio": shown_float(tstr_trtr),
                "mix_trtr_ratio": shown_float(mix_trtr),
                "chance_score": shown_float(chance),
                "tstr_trtr_skill_ratio": shown_float(
                    tstr_trtr_skill_ratio(primary["synthetic_only"], primary["real_only"], chance)),
                "mix_trtr_skill_ratio": shown_float(
                    tstr_trtr_skill_ratio(primary["training_mix"], primary["real_only"], chance)),
                "parents": dg.MetadataValue.json(
                    [builder.dataset(s) for s in (Stage.MODEL, Stage.REAL_HOLDOUT, Stage.TRAINING_MIX)]
                ),
                "scores": dg.MetadataValue.md(
                    report[["trained_on", "train_rows", *metrics]].to_markdown(index=False, floatfmt=".4g")),
            }
        )
        return report, metadata

    return evaluation
