"""Request and response schemas of the HTTP API, one module per role (OpenAI's live in api/openai_compat)."""
