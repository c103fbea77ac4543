"""Registers anl_seg modules with mmseg."""
from .isic import *  # noqa: F401,F403
from .transforms import *  # noqa: F401,F403
