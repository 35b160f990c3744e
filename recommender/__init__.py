"""Segue's on-device recommendation engine.

Pure numpy/scipy: it never imports Qt, SQLite or the ``player`` package. It takes dense
integer ids, arrays and events, and returns ids, scores and reasons; the caller owns the
mapping from ids to tracks.
"""
