"""The newest migration in catalog/migrations/versions (a test checks they agree).

Kept apart from `catalog.database` so that readers which do not load SQLAlchemy
(`catalog.quickread`) can check a catalog's schema too."""

SCHEMA_REVISION = "0001"
