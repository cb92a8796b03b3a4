__version__ = "0.1.0"

# Version of the hook API (hookspecs.py). Bumped on an incompatible change; a
# plugin may declare the version it was written for (see docs/plugins.md).
HOOK_API_VERSION = 1
