"""The connector definition format as code: models, loading, selectors and mapping. Pure: no web, no DB."""
