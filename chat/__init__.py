"""Conversations over the single-turn pipeline: follow-up rewriting and a chat service."""
