"""Model entries: networks combined with their trainer settings (see genreg.models.base)."""
