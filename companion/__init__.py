"""companion: a desktop companion for Rocket League players."""

__version__ = "0.1.0"
