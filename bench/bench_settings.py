"""The real settings, with the URLconf of the benchmarks (two baseline views added).

Only the benchmark processes use this module; production URLs never contain the baselines.
"""

from integration_portal.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
