"""Built-in metrics (registered like any third-party plugin's)."""

from ..hookspecs import hookimpl


@hookimpl
def genreg_register_metrics(register):
    pass
