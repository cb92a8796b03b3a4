"""Adversarial losses and critic penalties (registered by genreg.builtins.losses)."""
