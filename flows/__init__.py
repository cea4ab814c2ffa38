"""Prefect flows that orchestrate the mt_aug library."""
