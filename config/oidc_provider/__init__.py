"""A real OpenID Connect provider on 127.0.0.1, for the demo and the tests of single sign-on
(tenants/accounts/sso.py): django-oauth-toolkit's provider in a second process, a Django
project of its own (its own settings, SQLite database and signing key), started by the
launcher for `make run` and by tests/tenants/test_sso.py. It stands in for Microsoft Entra
ID (NHSmail) here; nothing of it runs in production."""
