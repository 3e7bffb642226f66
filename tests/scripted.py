"""The scripted client the tests use: the one :mod:`waiters.testing` ships to users."""

from waiters.testing import Answer, ScriptedClient, client_error, status_response

__all__ = ["Answer", "ScriptedClient", "client_error", "status_response"]
