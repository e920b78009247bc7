"""One module per stage; each exposes a ``build_*`` function returning Dagster assets."""
