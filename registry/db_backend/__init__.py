"""PostgreSQL for the registry: the app role and the row-level security scope (see
``registry.rls`` and docs/row-level-security.md)."""
