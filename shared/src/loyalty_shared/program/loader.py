"""Reading the program file (TOML), with errors that name the file and the offending key."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

from pydantic import ValidationError

from loyalty_shared.program.schema import Program


class ProgramError(ValueError):
    pass


def default_program_path() -> Path:
    return Path(str(resources.files(__package__).joinpath("default_program.toml")))


def load_program(path: Path | None = None) -> Program:
    path = path or default_program_path()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProgramError(f"program file {path} does not exist") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProgramError(f"program file {path} is not valid TOML: {exc}") from None
    try:
        return Program.model_validate(raw)
    except ValidationError as exc:
        problems = [
            f"  {'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}"
            for e in exc.errors(include_url=False, include_input=False)
        ]
        raise ProgramError(f"program file {path} is invalid:\n" + "\n".join(problems)) from None
