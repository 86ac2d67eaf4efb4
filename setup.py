"""Packaging detail pyproject.toml cannot say: ship the top-level connectors/ and migrations/ in the wheel.

They stay at the repo's top level (where the contract puts them) and are installed as
``app/_bundled/connectors`` and ``app/_bundled/migrations`` so a non-editable install finds them.
"""

from setuptools import find_packages, setup

setup(
    packages=[
        *find_packages(include=["app", "app.*"]),
        "app._bundled.connectors",
        "app._bundled.migrations",
        "app._bundled.migrations.versions",
    ],
    package_dir={
        "app._bundled.connectors": "connectors",
        "app._bundled.migrations": "migrations",
        "app._bundled.migrations.versions": "migrations/versions",
    },
    package_data={
        "app._bundled.connectors": ["*.json", "*.md"],
        "app._bundled.migrations": ["*.py", "*.mako"],
        "app._bundled.migrations.versions": ["*.py"],
    },
)
