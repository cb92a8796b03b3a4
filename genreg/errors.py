"""Exceptions that carry a one-line message for the user.

The CLI prints ``str(exc)`` of a :class:`GenregError` without a traceback and exits
with ``exit_code``: 1 for problems at run time, 2 for usage and configuration errors.
"""


class GenregError(Exception):
    """A problem the user can fix; its message is one line naming the problem."""

    exit_code = 1


class UsageError(GenregError, ValueError):
    """Bad command-line usage or configuration (exit code 2)."""

    exit_code = 2


class UnknownEntryError(UsageError, KeyError):
    """No registry entry of that kind and name."""

    def __str__(self) -> str:  # KeyError would quote the message
        return self.args[0] if self.args else ""


class EntryParameterError(UsageError):
    """A registry entry's factory rejected the parameters it was called with (exit code 2).

    Raised by :meth:`genreg.registry.Entry.create` when the factory raises ``ValueError``
    or ``TypeError``; plugin code should raise :class:`UsageError` itself with a message
    naming the parameter and what is allowed.
    """


class EntryError(GenregError):
    """A registry entry's factory cannot be imported or is not callable."""


class DuplicateEntryError(GenregError):
    """Two plugins registered the same (kind, name)."""


class PluginError(GenregError):
    """A plugin failed to load or to register (raised in strict mode)."""


class KernelError(GenregError, RuntimeError):
    """A fused kernel was requested but is not available, or got bad input."""
