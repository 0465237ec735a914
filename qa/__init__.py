"""Extractive question answering over news articles with verbatim, cited span answers."""

__version__ = "0.1.0"
