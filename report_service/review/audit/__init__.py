"""The hash-chained audit log: appending, querying and verifying it."""
