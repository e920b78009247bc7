"""A team's own churn pipeline: their loader, their generator, their mix, trainer and
evaluation, as ordinary Dagster assets. synth-pipeline only declares what each asset
holds (``@provenance_asset``, ``with_provenance``); nothing here uses the template.
"""


from typing import Any

import dagster as dg
import numpy as np
import pandas as pd

from examples.own_assets import warehouse
from synth_pipeline import (
    STORE_KEY,
    Provenance,
    combine,
    generations_partitions,
    holdout_report,
    provenance_asset,
    publish_rows,
    user_columns,
    with_provenance,
)

PIPELINE = "churn"
LABEL = "churned"
GROUP = "churn"
generations = generations_partitions(PIPELINE)  # partition keys "1", "2", ...: the generation numbers


@provenance_asset(pipeline=PIPELINE, role="real_source", label_column=LABEL, group_name=GROUP)
def customers() -> pd.DataFrame:
    """The customer history from the warehouse: real data."""
    return warehouse.customers(period=0, rows=1_500)


HOLDOUT = Provenance(pipeline=PIPELINE, role="real_holdout", label_column=LABEL)
TRAIN = Provenance(pipeline=PIPELINE, role="real_train", label_column=LABEL)


@dg.multi_asset(
    specs=[with_provenance(dg.AssetSpec("holdout", group_name=GROUP, deps=["customers"]), HOLDOUT),
           with_provenance(dg.AssetSpec("train", group_name=GROUP, deps=["customers"]), TRAIN)],
    ins={"customers": dg.AssetIn("customers")},
    required_resource_keys={STORE_KEY},
)
def split(context: dg.AssetExecutionContext, customers: pd.DataFrame):
    """A stratified 25 % holdout, sealed: only the evaluation reads it."""
    from sklearn.model_selection import train_test_split

    train, holdout = train_test_split(customers, test_size=0.25, stratify=customers[LABEL], random_state=7)
    yield publish_rows(context, holdout, provenance=HOLDOUT, asset_key="holdout")
    yield publish_rows(context, train, provenance=TRAIN, asset_key="train")


@provenance_asset(pipeline=PIPELINE, role="real_arrivals", label_column=LABEL, group_name=GROUP,
                  partitions_def=generations)
def new_customers(context: dg.AssetExecutionContext) -> pd.DataFrame:
    """The customers who signed up in this generation's period: fresh real rows."""
    return warehouse.customers(period=int(context.partition_key), rows=300)


def class_gaussian_sample(train: pd.DataFrame, rows: int, seed: int) -> pd.DataFrame:
    """The team's simulator: per class, numbers from a multivariate normal fitted on the
    class's rows and the contract from the class's frequencies."""
    rng = np.random.default_rng(seed)
    numeric = ["tenure_months", "monthly_charges", "support_calls"]
    shares = train[LABEL].value_counts(normalize=True)
    parts = []
    for label, share in shares.items():
        rows_of_class = train[train[LABEL] == label]
        count = int(round(rows * share))
        values = rng.multivariate_normal(rows_of_class[numeric].mean(), rows_of_class[numeric].cov(), size=count)
        part = pd.DataFrame(values, columns=numeric)
        part["tenure_months"] = part["tenure_months"].clip(lower=0).round(1)
        part["monthly_charges"] = part["monthly_charges"].clip(18, 130).round(2)
        part["support_calls"] = part["support_calls"].clip(lower=0).round()
        frequencies = rows_of_class["contract"].value_counts(normalize=True)
        part["contract"] = rng.choice(frequencies.index.to_numpy(), size=count, p=frequencies.to_numpy())
        part[LABEL] = label
        parts.append(part)
    return pd.concat(parts, ignore_index=True)[["contract", *numeric, LABEL]]


@provenance_asset(pipeline=PIPELINE, role="synthetic", label_column=LABEL, group_name=GROUP,
                  generator="class_gaussian_simulator", generator_params={"rows": 100},
                  fitted_on="new_customers", partitions_def=generations)
def simulated(context: dg.AssetExecutionContext, new_customers: pd.DataFrame) -> pd.DataFrame:
    """Synthetic customers from the team's simulator, fitted on this generation's arrivals.

    The record key is left out (a simulator has no customers); the pipeline gives each row a
    ``customer_id`` that can never be a real one.
    """
    fit = new_customers[[c for c in user_columns(new_customers) if c != "customer_id"]]
    return class_gaussian_sample(fit, rows=100, seed=int(context.partition_key))


@provenance_asset(pipeline=PIPELINE, role="training_mix", label_column=LABEL, group_name=GROUP,
                  partitions_def=generations)
def mix(new_customers: pd.DataFrame, simulated: pd.DataFrame) -> pd.DataFrame:
    """This generation's training set: the fresh real customers plus the simulated ones."""
    return combine([new_customers, simulated])


FEATURES = ["contract", "tenure_months", "monthly_charges", "support_calls"]


@provenance_asset(pipeline=PIPELINE, role="model", group_name=GROUP, partitions_def=generations)
def churn_model(mix: pd.DataFrame) -> Any:
    """The team's own trainer: one-hot contract + logistic regression."""
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    model = make_pipeline(
        make_column_transformer((OneHotEncoder(handle_unknown="ignore"), ["contract"]),
                                (StandardScaler(), FEATURES[1:])),
        LogisticRegression(max_iter=500),
    )
    return model.fit(mix[FEATURES], mix[LABEL])


@provenance_asset(pipeline=PIPELINE, role="evaluation", group_name=GROUP, partitions_def=generations)
def evaluation(context: dg.AssetExecutionContext, churn_model: Any, holdout: pd.DataFrame,
               mix: pd.DataFrame) -> pd.DataFrame:
    """The model scored on the sealed holdout, in the record the evaluation_on_real check verifies."""
    return holdout_report({"training_mix": (churn_model, len(mix))}, holdout, label_column=LABEL,
                          holdout_asset="holdout", generation=int(context.partition_key), features=FEATURES)
