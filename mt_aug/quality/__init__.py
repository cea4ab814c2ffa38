"""The translation quality gate."""
