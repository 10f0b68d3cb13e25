"""Errors that name the file, key or column at fault."""


class DVMapError(Exception):
    """Base class: every error the kit raises on bad input."""


class SpecError(DVMapError):
    """A spec file is malformed: names the file and the key path."""

    def __init__(self, file: str, key_path: str, message: str):
        self.file, self.key_path = str(file), key_path or "<root>"
        super().__init__(f"{self.file}: {self.key_path}: {message}")


class SurveyFileError(DVMapError):
    """The survey file cannot be used: names the file and the column."""

    def __init__(self, file: str, message: str):
        self.file = str(file)
        super().__init__(f"{self.file}: {message}")


class LeakageError(DVMapError):
    """Samples leak between splits that must be disjoint."""
