"""Static files, served by WhiteNoise, with the apps' files listed once per process.

WhiteNoise lists every file the static finders know (the apps', Dash's, the admin's) when
its middleware is built. Django builds the middleware chain once per handler: once per
gunicorn worker, but once per test client too, and the suite makes hundreds of clients
(about 20 s of `make test` went on listing the same files again). The list is kept per
process, keyed by everything that shapes WhiteNoise's answers, so what is served is what
WhiteNoise would serve; a file added while a process runs is seen by the next process, as
with WhiteNoise itself when it does not refresh.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from whitenoise.middleware import WhiteNoiseMiddleware

_FROM_FINDERS: dict[tuple[Any, ...], dict[str, Any]] = {}


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    def add_files_from_finders(self) -> None:
        key = (
            self.static_prefix,
            self.max_age,
            self.allow_all_origins,
            self.charset,
            tuple(str(path) for path in settings.STATICFILES_DIRS),
            tuple(settings.INSTALLED_APPS),
        )
        listed = _FROM_FINDERS.get(key)
        if listed is None:
            before = dict(self.files)
            super().add_files_from_finders()
            listed = {
                url: found for url, found in self.files.items() if before.get(url) is not found
            }
            _FROM_FINDERS[key] = listed
        else:
            self.files.update(listed)
