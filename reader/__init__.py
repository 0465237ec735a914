"""Extractive readers that turn retrieved passages into verbatim span answers."""
