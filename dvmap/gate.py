"""One gate for the config values that become paths, URLs or parts of a command.

A path from the config becomes a rule input (where Snakemake reads `{name}` as a wildcard) and,
under the SLURM profile, part of an `sbatch --wrap="..."` command line that a shell reads (where
`$(...)`, backticks, quotes and backslashes are code). Such a value would not be taken literally,
so it is refused before any job, naming the key; so are an empty value (an unset shell variable,
`--config survey_file=`, which Snakemake reads as "unset" and would silently build the synthetic
file) and a value the current `data_source` ignores (`release_dir` without `data_source=release`).
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from dvmap.errors import DVMapError

WHERE = "specs/config.yaml (merged with --config/--configfile)"
# What a shell (inside sbatch --wrap="...") or Snakemake (wildcards) would reinterpret.
FORBIDDEN = {
    "$": "a shell variable or command substitution ($)",
    "`": "a shell command substitution (backtick)",
    '"': "a quote",
    "'": "a quote",
    "\\": "a backslash",
    "{": "a brace, which Snakemake would read as a wildcard",
    "}": "a brace, which Snakemake would read as a wildcard",
    "\n": "a line break",
    "\r": "a line break",
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Keys of the config that are paths, and the data_source that reads each (None: every source).
SOURCE_KEYS = {"survey_file": "wvs", "release_dir": "release"}


class GateError(DVMapError):
    """A config value that would not be taken literally as a path, URL or command argument."""

    def __init__(self, key: str, message: str, where: str = WHERE):
        self.key = key
        super().__init__(f"{where}: {key}: {message}")


def check_value(key: str, value, where: str = WHERE) -> None:
    """Refuse a path-like value that is empty or holds what a shell or Snakemake reinterprets."""
    if value is None:
        return
    if not isinstance(value, str):
        raise GateError(key, f"expected a path, got {type(value).__name__} {value!r}", where)
    if not value.strip():
        raise GateError(key, "the value is empty (an unset shell variable?): give a path, or leave the key out",
                        where)
    names = re.findall(r"\{([^{}]*)\}", value)
    if names:
        raise GateError(key, f"the path {value} holds {', '.join('{' + n + '}' for n in names)}, which Snakemake would "
                             f"read as a wildcard instead of the file's name; rename the file or folder, or link it "
                             f"(ln -s) under a name without braces", where)
    for ch, what in FORBIDDEN.items():
        if ch in value:
            raise GateError(key, f"the path {value!r} holds {what}: a shell or Snakemake would not take it literally "
                                 f"(the job could read another file than the one checked); rename the file or "
                                 f"folder, or link it (ln -s) under a plain name", where)
    if _CONTROL.search(value):
        raise GateError(key, f"the path {value!r} holds a control character", where)


def empty_config_args(config_args: Iterable[str] | None, keys: Iterable[str]) -> list[str]:
    """Keys given an empty value on the command line (`--config survey_file=`): Snakemake turns
    those into None, the same as leaving them out."""
    keys = set(keys)
    found = []
    for arg in config_args or []:
        if isinstance(arg, str) and "=" in arg:
            key, value = arg.split("=", 1)
            if key.strip() in keys and value.strip() in ("", '""', "''"):
                found.append(key.strip())
    return found


def path_values(config: Mapping, specs: Mapping) -> dict[str, object]:
    """Every path-like value of the configuration, by the key that names it."""
    values: dict[str, object] = {
        "survey_file": config.get("survey_file"),
        "release_dir": config.get("release_dir"),
        **{f"specs/{kind}": path for kind, path in (config.get("specs") or {}).items()},
    }
    if "synthetic" in specs and "synthetic" in (config.get("specs") or {}):
        values[f"{config['specs']['synthetic']}: calibration"] = specs["synthetic"].get("calibration")
    models = (specs.get("models") or {}).get("eval_models") or {}
    for name, spec in models.items():
        where = f"{config['specs'].get('models', 'models')}: eval_models/{name}"
        if isinstance(spec, Mapping) and "endpoint" in spec:
            values[f"{where}/endpoint"] = spec["endpoint"]
        if isinstance(spec, Mapping) and isinstance(spec.get("weights"), Mapping) and "hub" in spec["weights"]:
            values[f"{where}/weights/hub"] = spec["weights"]["hub"]  # a model name or a local folder
    return values


def check_config(config: Mapping, specs: Mapping, config_args: Iterable[str] | None = None) -> None:
    """The gate: every path-like value of the config and specs is literal, none is empty, and none is
    set for a data source other than the current one. Raises GateError naming the key."""
    for key in empty_config_args(config_args, [*SOURCE_KEYS, "data_source"]):
        raise GateError(key, "the value is empty on the command line (an unset shell variable?): give a path, or "
                             "leave the key out (an empty survey_file would silently build the synthetic file)")
    for key, value in path_values(config, specs).items():
        check_value(key, value)
    source = config["data_source"]  # filled with its schema default by load_config
    for key, reader in SOURCE_KEYS.items():
        if config.get(key) is not None and source != reader:
            raise GateError(key, f"set to {config[key]!r}, but data_source is {source!r}, which ignores it (it is "
                                 f"read with data_source={reader}): add data_source={reader}, or leave {key} out")
