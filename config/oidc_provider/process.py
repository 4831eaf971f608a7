"""Start and stop the local OpenID Connect provider (config/oidc_provider/serve.py) as a
second process on a free port, for the launcher and the tests."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from config.embedded import child_environment, free_port


@dataclass
class LocalOidcProvider:
    directory: Path
    clients: list[dict] = field(default_factory=list)
    users: list[dict] = field(default_factory=list)
    port: int = 0
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}/o"

    def start(self, timeout: float = 60.0) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / "setup.json").write_text(
            json.dumps({"clients": self.clients, "users": self.users})
        )
        (self.directory / "setup.json").chmod(0o600)
        self.port = self.port or free_port()
        log = (self.directory / "provider.log").open("ab")
        try:
            self._process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "config.oidc_provider.serve",
                    str(self.directory),
                    str(self.port),
                ],
                env=child_environment({}),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        url = f"{self.issuer}/.well-known/openid-configuration"
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"The local OpenID Connect provider exited with {self._process.returncode}; "
                    f"see {self.directory / 'provider.log'}"
                )
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(
            f"The local OpenID Connect provider did not answer within {timeout:.0f} s"
        )

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None
