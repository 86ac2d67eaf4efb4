"""REST API tokens: created by the CLI, stored only as SHA-256 hashes, checked on every API request."""
