"""The ``qa`` command line, a channel like the HTTP API and Slack: it asks the application."""
