"""Exceptions raised by synth-pipeline.

Every error names the problem and the fix, so a failed Dagster run tells the user what
to change without reading the source.
"""


class SynthPipelineError(ValueError):
    """Base class for all synth-pipeline errors."""


class ReservedColumnError(SynthPipelineError):
    """A user column uses the prefix reserved for provenance columns."""


class ProvenanceError(SynthPipelineError):
    """Provenance columns are missing, partial or hold invalid values."""


class DataSourceError(SynthPipelineError):
    """A data source cannot be read or does not match the pipeline spec."""


class GenerationError(SynthPipelineError):
    """A generation key is invalid or an earlier generation is missing."""


class UnknownNameError(SynthPipelineError):
    """A name given by the user (pipeline, dataset, check, module, ...) matches nothing that exists.

    The message lists what does exist, with the closest match
    (:func:`synth_pipeline.user_input.unknown_name`).
    """


class NothingRecordedError(SynthPipelineError):
    """A read-only command found nothing recorded yet (no run in that data directory): not a wrong name."""


class StoredDataNotFoundError(SynthPipelineError):
    """An asset (or one of its partitions) has not been materialized yet."""


class ConfigPathError(SynthPipelineError):
    """A file path given in run config lies outside the data directory and the allowed input directories."""


class ConfigFileError(SynthPipelineError):
    """A configuration file (policy, spec, expectation suite) cannot be read: missing, too large,
    not UTF-8, bad syntax, or a refused feature (YAML anchors and aliases, duplicate keys, ...)."""


class ConfigValueError(SynthPipelineError):
    """A policy or spec holds an unknown field, a value of the wrong type, or a value out of range."""


class GeneratedDataError(SynthPipelineError):
    """A generator (synthesizer, SMOTE) made rows that break the schema or the values of the rows it was fitted on."""


class MissingExtraError(SynthPipelineError):
    """A feature needs an optional extra (``pip install 'synth-pipeline[<extra>]'``) that is not installed."""


class GeneratorSpecError(SynthPipelineError):
    """``synthesizer.method`` or ``synthesizer.params`` name a generator that cannot be built or does not
    follow the generator protocol (:mod:`synth_pipeline.generators.protocol`)."""


class DataDirConflictError(SynthPipelineError):
    """The definitions bind the dataset store to one data directory and ``--data-dir`` or
    ``$SYNTH_PIPELINE_DATA_DIR`` names another (:mod:`synth_pipeline.cli_definitions`)."""


class ComponentConfigError(SynthPipelineError):
    """A ``SynthPipelineComponent``'s ``defs.yaml`` attributes are missing, contradict each other, or
    name a file or directory that does not exist (:mod:`synth_pipeline.components`)."""
