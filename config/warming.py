"""Ready a serving process (a gunicorn worker, a Celery worker process) once it has loaded the
application: load what the first request would otherwise load (the personal-details name
lists), then freeze everything made so far out of the garbage collector's reach.

Without the freeze, every full collection walks the whole start-up heap (Django, the apps,
the URL configurations: about 110,000 objects, some 40 ms here), and a request that makes
many objects (a story with thousands of suspected details) sets one off often. The frozen
objects are the long-lived ones that never become garbage; see the Python documentation of
`gc.freeze`. benchmarks/analysers.py does the same, so its figures are the ones served.
"""

from __future__ import annotations

import gc


def warm_and_freeze() -> int:
    """Load the lazily loaded data, collect once, and freeze. Returns how many objects are
    now frozen."""
    from feedback import pii

    pii.find_personal_details("Warm-up: Jo Bloggs, 12 Acacia Avenue.")
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
