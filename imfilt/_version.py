"""The version of imfilt (one place; read by the package and show_config)."""

__version__ = "0.1.0"
