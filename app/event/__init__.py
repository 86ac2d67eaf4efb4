"""Stored events: the envelope, the group-commit writer, queries for the API."""
