"""Built-in datasets (registered like any third-party plugin's)."""

from ..hookspecs import hookimpl


@hookimpl
def genreg_register_datasets(register):
    pass
