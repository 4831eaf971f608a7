"""Time spent in the database, for the benchmarks: a Django execute wrapper."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


class SqlClock:
    """Adds up the seconds spent executing SQL while it is installed with
    `connection.execute_wrapper(clock)`."""

    def __init__(self) -> None:
        self.total = 0.0

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.total += time.perf_counter() - began
