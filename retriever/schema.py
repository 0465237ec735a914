"""The store's SQLite schema, its connection settings, the migrations of older stores, and the store's errors."""

from __future__ import annotations

import sqlite3
from pathlib import Path

REBUILD_HINT = "qa index"

# Stores written before syndicated copies kept their own paragraphs also hold a table "copies", no longer read.
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, url TEXT, published TEXT, source TEXT,
    paragraphs INTEGER NOT NULL, text TEXT NOT NULL, publisher TEXT, topics TEXT, published_at REAL);
CREATE TABLE IF NOT EXISTS passages (
    row INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL, doc_id TEXT NOT NULL, title TEXT NOT NULL,
    paragraph INTEGER NOT NULL, text TEXT NOT NULL, doc_start INTEGER NOT NULL, doc_end INTEGER NOT NULL,
    vector BLOB NOT NULL, page INTEGER);
CREATE INDEX IF NOT EXISTS passages_doc ON passages(doc_id);
CREATE TABLE IF NOT EXISTS tombstones (seq INTEGER PRIMARY KEY AUTOINCREMENT, row INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS topics (doc_id TEXT NOT NULL, topic TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS topics_topic ON topics(topic);
CREATE INDEX IF NOT EXISTS topics_doc ON topics(doc_id);
CREATE INDEX IF NOT EXISTS documents_publisher ON documents(publisher);
CREATE INDEX IF NOT EXISTS documents_published ON documents(published_at);
"""
# Columns added since the first stores, with their SQL type: an older store gets them, empty, when it is opened.
_ADDED = {"passages": {"page": "INTEGER"},
          "documents": {"publisher": "TEXT", "topics": "TEXT", "published_at": "REAL"}}


class IndexError_(Exception):
    """Base for index problems; the message names the command that fixes it."""


class IndexMissing(IndexError_):
    pass


class IndexCorrupt(IndexError_):
    pass


def corrupt(directory: Path, why: str) -> IndexCorrupt:
    return IndexCorrupt(f"index at {directory} is unreadable ({why}); rebuild it with: {REBUILD_HINT}")


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")  # a committed write survives a power cut
    conn.execute("PRAGMA foreign_keys=OFF")
    return conn


def migrate(path: Path) -> None:
    """Stores written before a column or table existed get it, empty: cheap, one-time, safe to race."""
    conn = connect(path)
    try:
        for table, columns in _ADDED.items():
            have = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
            for name, kind in columns.items():
                if name in have:
                    continue
                try:
                    conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
                except sqlite3.OperationalError as exc:  # another process added it first
                    if "duplicate column" not in str(exc):
                        raise
        conn.executescript(SCHEMA)  # tables and indexes that did not exist yet
    finally:
        conn.close()
