"""genreg's own plugins. Each module here is registered on the plugin manager exactly
like a third-party plugin (see genreg.plugins.BUILTIN_PLUGINS)."""
