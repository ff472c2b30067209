"""Django's PostgreSQL backend, plus what row-level security needs of every connection:

- it runs as the application role (``OPTIONS["assume_role"]``, ``SET ROLE`` once per
  connection), which owns no table, so the policies apply to it; not while the owner works
  (``registry.rls.as_owner``: migrations, the test flush) nor on the connection to the
  ``postgres`` database that creates and drops the test database;
- every statement runs with the connection's scope (``registry.rls.execute_wrapper``), and
  the settings applied are forgotten when the transaction ends (COMMIT, ROLLBACK) or a
  savepoint is rolled back.
"""

from django.db.backends.base.base import NO_DB_ALIAS
from django.db.backends.postgresql import base

from registry import rls

_PROCESS_DEFAULT = object()


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._rls_scope = _PROCESS_DEFAULT
        self.rls_applied = None
        if self.alias != NO_DB_ALIAS:  # the connection that creates and drops databases reads no row
            self.execute_wrappers.append(rls.execute_wrapper)

    @property
    def rls_scope(self):
        """The scope of the next statements: the process's default until something sets one."""
        if self._rls_scope is _PROCESS_DEFAULT:
            return rls.process_default() if self.alias != NO_DB_ALIAS else None
        return self._rls_scope

    @rls_scope.setter
    def rls_scope(self, value):
        self._rls_scope = value

    def _configure_role(self, connection):
        if self.alias == NO_DB_ALIAS or rls.owner_mode():
            return False
        return super()._configure_role(connection)

    def configure_app_role(self) -> None:
        """Back to the app role after the owner's work on this connection. Inside a transaction
        the SET ROLE is part of it (a rollback restores the role the transaction began with,
        the app role): committing here would commit the caller's work, a test's included."""
        if self._configure_role(self.connection) and not self.get_autocommit() and not self.in_atomic_block:
            self.connection.commit()

    def get_new_connection(self, conn_params):
        self.rls_applied = None
        return super().get_new_connection(conn_params)

    def _commit(self):
        self.rls_applied = None
        return super()._commit()

    def _rollback(self):
        self.rls_applied = None
        return super()._rollback()

    def _savepoint_rollback(self, sid):
        result = super()._savepoint_rollback(sid)  # its statement runs with the settings as they were
        self.rls_applied = rls.UNKNOWN  # what the savepoint set is undone: set them again
        return result
