"""Models: robust losses for mmseg decode heads."""
from .losses import *  # noqa: F401,F403
