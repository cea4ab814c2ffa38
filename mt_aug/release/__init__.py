"""Releasing a build: manifest, data card, Croissant metadata, verify, publish, lock."""
