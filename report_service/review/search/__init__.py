"""Searching review items (``GET /v1/review/items``)."""
