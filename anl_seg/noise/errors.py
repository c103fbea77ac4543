"""The one exception type for bad noise input or settings."""


class NoiseError(ValueError):
    """Bad mask, file or parameter; the message is one line naming it."""

    def __init__(self, message):
        # One line, whatever the wrapped message was (e.g. a PIL error).
        super().__init__(' '.join(str(message).split()))
