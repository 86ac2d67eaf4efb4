"""The benchmark harness behind ``bench/run.py``: one module per concern, driven from ``run.py``."""
