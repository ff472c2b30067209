"""Registry services: every write with a rule (see the modules), re-exported here."""
