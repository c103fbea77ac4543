"""Registers anl_seg modules with mmseg."""
