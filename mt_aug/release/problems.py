"""What `verify` raises (mt_aug.release.verify, and verify_dev for the dev split)."""

from __future__ import annotations


class VerifyError(Exception):
    """A broken rule; the message names the file, the batch and the rule."""
