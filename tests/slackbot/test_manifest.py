"""The Slack app manifest matches what the app handles."""

from pathlib import Path

import yaml

MANIFEST = Path(__file__).resolve().parents[2] / "slackbot" / "manifest.yml"


def test_manifest_points_everything_at_slack_events():
    m = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert m["settings"]["event_subscriptions"]["request_url"].endswith("/slack/events")
    assert set(m["settings"]["event_subscriptions"]["bot_events"]) == {"app_mention", "message.im"}
    [command] = m["features"]["slash_commands"]
    assert command["command"] == "/ask" and command["url"].endswith("/slack/events")
    scopes = set(m["oauth_config"]["scopes"]["bot"])
    assert {"app_mentions:read", "chat:write", "commands", "im:history", "channels:history"} <= scopes
