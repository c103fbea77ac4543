"""Robust per-pixel losses, registered with mmseg MODELS."""
