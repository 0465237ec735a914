"""FastAPI service exposing the QA pipeline over HTTP."""
