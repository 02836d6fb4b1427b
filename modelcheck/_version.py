"""The package's version, in a module of its own so that any module can read it.

(``modelcheck/__init__.py`` imports the whole public API, so a module the
API depends on that imported the version from there would be in a circle.)
Keep it equal to ``version`` in pyproject.toml.
"""

__version__ = "0.1.0"
