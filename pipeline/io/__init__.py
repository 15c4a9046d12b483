"""Readers: WARC files and text datasets into Documents, Beam-free (they take an opener)."""
