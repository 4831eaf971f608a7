"""Run the local OpenID Connect provider: `python -m config.oidc_provider.serve DIRECTORY PORT`.

DIRECTORY holds `setup.json` ({"clients": [{"client_id", "client_secret", "redirect_uris"}],
"users": [{"email", "password", "name"}]}), written by `process.LocalOidcProvider`; the
provider keeps its SQLite database and RSA signing key there too. Clients and users are
brought up to date from it at each start. Serves until stopped.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from pathlib import Path
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        sys.stderr.write("oidc-provider: " + (format % args) + "\n")


def _signing_key(directory: Path) -> None:
    path = directory / "signing-key.pem"
    if path.exists():
        return
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def _set_up(setup: dict) -> None:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from oauth2_provider.models import get_application_model

    call_command("migrate", interactive=False, verbosity=0)
    User = get_user_model()  # noqa: N806
    for person in setup.get("users", []):
        user, _ = User.objects.get_or_create(
            username=person["email"], defaults={"email": person["email"]}
        )
        first, _, last = person.get("name", "").partition(" ")
        user.email, user.first_name, user.last_name = person["email"], first, last
        user.set_password(person["password"])
        user.save()
    Application = get_application_model()  # noqa: N806
    for client in setup.get("clients", []):
        app = Application.objects.filter(client_id=client["client_id"]).first() or Application(
            client_id=client["client_id"]
        )
        app.name = client.get("name", client["client_id"])
        app.client_secret = client["client_secret"]
        app.client_type = Application.CLIENT_CONFIDENTIAL
        app.authorization_grant_type = Application.GRANT_AUTHORIZATION_CODE
        app.redirect_uris = " ".join(client["redirect_uris"])
        app.algorithm = Application.RS256_ALGORITHM
        app.skip_authorization = True
        app.save()


def main(argv: list[str]) -> int:
    directory, port = Path(argv[0]), int(argv[1])
    directory.mkdir(parents=True, exist_ok=True)
    _signing_key(directory)
    secret = directory / "secret-key"
    if not secret.exists():
        secret.write_text(secrets.token_urlsafe(40))
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.oidc_provider.settings"
    os.environ["OIDC_PROVIDER_DIR"] = str(directory)
    os.environ["OIDC_PROVIDER_ISSUER"] = f"http://127.0.0.1:{port}/o"
    os.environ["OIDC_PROVIDER_SECRET_KEY"] = secret.read_text()
    import django

    django.setup()
    _set_up(json.loads((directory / "setup.json").read_text()))
    from django.core.wsgi import get_wsgi_application

    server = make_server(
        "127.0.0.1", port, get_wsgi_application(), server_class=_Server, handler_class=_QuietHandler
    )
    print(f"oidc-provider: serving http://127.0.0.1:{port}/o", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
