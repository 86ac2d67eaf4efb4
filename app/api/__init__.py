"""The REST API's shared plumbing: authentication, the request transaction, pagination, error models."""
