"""Django database backend: PostgreSQL, started on first connection (see the package)."""

from registry.db_backend import base
from registry.embedded_postgres import ensure_running


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self):
        params = super().get_connection_params()
        params["host"] = ensure_running()
        return params
