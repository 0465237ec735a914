"""OpenAI-compatible chat API: its schemas and router together."""
