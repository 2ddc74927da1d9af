"""The moderator console: the review API's functions as server-rendered pages.

:func:`report_service.console.pages.install` mounts it under ``/console``; see
docs/review.md ("The console").
"""
