"""The one exception type for problems a user can fix.

Anything raised as :class:`UserError` (or a subclass) carries a message written for the
person using the app or the CLI: what is wrong, where (file, line, field), and what to
do. The CLI prints it as one line and exits with code 2; pages show it with ``st.error``.
Anything else is a bug and keeps its traceback.
"""


class UserError(Exception):
    """A problem with the user's input, data or environment, with a clear message."""
