"""Shared pytest configuration: hypothesis profiles.

Select a hypothesis profile with the environment variable ``HYPOTHESIS_PROFILE``:

``dev`` (default; ``ci`` when the environment variable ``CI`` is set)
    Few examples, for a quick local run.
``ci``
    More examples; the whole suite stays within a few minutes on 2 cores.
``expensive``
    Many examples, for an occasional long run.
"""

import os

from hypothesis import HealthCheck, settings

_COMMON = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
    "print_blob": True,
}
settings.register_profile("dev", max_examples=25, **_COMMON)
settings.register_profile("ci", max_examples=200, derandomize=True, **_COMMON)
settings.register_profile("expensive", max_examples=1000, **_COMMON)
# CI (which sets CI=true) gets the thorough, derandomised profile unless told otherwise.
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
