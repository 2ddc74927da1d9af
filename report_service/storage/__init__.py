"""Storage of the report service: SQLAlchemy 2 models, engine and Alembic migrations.

One implementation on SQLAlchemy that runs on SQLite (WAL, foreign keys on) and on
PostgreSQL through psycopg 3 (``postgresql+psycopg://``).
"""
