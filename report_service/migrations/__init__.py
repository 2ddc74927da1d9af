"""Alembic migrations of the report service; run them with
:func:`report_service.storage.migrate.upgrade_database`."""
