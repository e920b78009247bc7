"""Generation reports: one self-contained HTML page per generation, with plots.

- :mod:`~synth_pipeline.report.data` gathers the per-generation figures from the stored files;
- :mod:`~synth_pipeline.report.plots` draws them (matplotlib, imported when drawing);
- :mod:`~synth_pipeline.report.html` lays them out as one page with inline PNGs;
- :mod:`~synth_pipeline.report.build` ties them together and writes the file;
- :mod:`~synth_pipeline.report.ui` turns a written report into Dagster metadata (path, key plot, key table).

Example:
    .. code-block:: python

        from synth_pipeline.report import build_generation_report

        report = build_generation_report(store, {s: pipeline.key(s) for s in pipeline.stages},
                                         pipeline=pipeline.name, generation=3, label_column="target")
        print(report.path)
"""

from synth_pipeline.report.build import GenerationReport, build_generation_report, report_path
from synth_pipeline.report.ui import report_metadata

__all__ = ["GenerationReport", "build_generation_report", "report_metadata", "report_path"]
