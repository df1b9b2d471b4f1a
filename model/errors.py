"""The one error type a user sees: a bad value, file or combination, named in one line."""


class ParameterError(ValueError):
    """A user-facing parameter problem: one line naming the field and the value."""
