"""The dg project's defs folder: one folder per component (see ``reference/defs.yaml``)."""
