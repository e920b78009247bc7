"""The names under which the quality checks keep their per-generation figures (``_monitors/<asset>/<name>/``).

The checks write them and the generation report reads them; both take the names from here.
"""

DIVERSITY_MONITOR = "diversity"
PRIVACY_MONITOR = "privacy"
UTILITY_MONITOR = "utility"
