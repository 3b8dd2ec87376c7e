"""The one exception type for problems a user can fix.

Anything raised as :class:`UserError` (or a subclass) carries a message written for the
person using the app or the CLI: what is wrong, where (file, line, field), and what to
do. The CLI prints it as one line and exits with code 2; pages show it with ``st.error``.
Anything else is a bug and keeps its traceback.
"""


class UserError(Exception):
    """A problem with the user's input, data or environment, with a clear message."""


class Cancelled(BaseException):
    """A job was cancelled by its user; raised between two batches by the job's progress callback.

    A ``BaseException`` (like ``KeyboardInterrupt``) so that no ``except Exception`` on the way
    swallows it: the engine stores the run as cancelled and the job runner stores the job so.
    """
