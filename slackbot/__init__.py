"""Slack: a Bolt for Python app answering mentions, DMs and /ask, mounted by the API when configured."""
