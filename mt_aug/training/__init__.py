"""The consumer API: what a trainer calls to read a build."""
