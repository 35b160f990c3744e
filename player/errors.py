"""Errors that reach the user as one clear line, never as a traceback."""


class SegueError(Exception):
    """A problem the user can act on: a bad path, a locked or damaged DB, bad arguments."""


class DatabaseError(SegueError):
    """The library database cannot be opened, read or written."""


class WriteRefusedError(DatabaseError):
    """The DB's own rules refuse a write (a constraint): trying it again changes nothing."""
