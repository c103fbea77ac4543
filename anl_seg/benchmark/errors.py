"""The benchmark's error type."""


class BenchmarkError(ValueError):
    """A bad grid, preset, config or data; the message is one line that
    names the offending value or file."""
