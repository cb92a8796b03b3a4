"""Built-in models (registered like any third-party plugin's)."""

from ..hookspecs import hookimpl


@hookimpl
def genreg_register_models(register):
    # Models of the reference study register here as they land (see the README's model table).
    pass
