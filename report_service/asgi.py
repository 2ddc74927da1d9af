"""The ASGI application factory that ``frankly serve --workers N`` hands to uvicorn.

Nothing happens at import: each worker process calls :func:`worker_app`, which reads
the settings from the environment (the parent exports ``FRANKLY_DATA_DIR``) and builds
the app without migrating, because the parent has already upgraded the schema once
before starting any worker. Run it by hand only after ``frankly serve`` or another
command has upgraded the database::

    uvicorn --factory report_service.asgi:worker_app --workers 4
"""

from __future__ import annotations

from fastapi import FastAPI


def worker_app() -> FastAPI:
    """Build one worker's app from the environment (no schema upgrade).

    Raises:
        ServiceError: invalid settings, an unusable key file or database, an untrusted
            stored hash list (see :func:`report_service.app.create_app`).
    """
    from report_service.app import create_app
    from report_service.observability import configure_logging
    from report_service.settings import load_settings

    settings = load_settings()
    configure_logging(settings.log_level)
    return create_app(settings, migrate=False)
