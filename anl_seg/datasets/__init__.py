"""Registers anl_seg modules with mmseg."""
from .transforms import *  # noqa: F401,F403
