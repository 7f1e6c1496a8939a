"""The operator console at `/console`: server-rendered pages over what Redis holds, for a browser.

`console_mount()` is the one route the app adds. Sign-in takes the admin token; see `session.py` for
the cookie and CSRF scheme and `routes.py` for the headers every page carries.
"""

from receiver.console.routes import console_mount

__all__ = ["console_mount"]
