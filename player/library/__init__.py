"""The library database: every SQL statement Segue runs lives in this package.

Layers, as in beets: ``db`` (connection, transactions, migrations), then the
table-specific modules (``tracks``, ``roots``, ``errors``, ``events``) that the rest
of Segue calls. Nothing outside this package writes SQL.
"""

from player.library.db import Database, open_library

__all__ = ["Database", "open_library"]
