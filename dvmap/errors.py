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


class OutputError(DVMapError):
    """An output cannot be written: names the file and its folder."""

    def __init__(self, path, exc: OSError):
        from pathlib import Path

        self.path = Path(path)
        super().__init__(f"cannot write {self.path}: the folder {self.path.parent} is not writable here "
                         f"({exc.strerror or exc}); check its permissions and free space, or build in another folder")
