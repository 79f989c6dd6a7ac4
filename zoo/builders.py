"""Calling a registered builder or loader with a config section: the one place that turns a wrong argument, or a
value the function cannot use, into a one-line error naming the section to fix."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from zoo.errors import ConfigError, ZooError


def call_with_args(
    function: Callable[..., Any], args: dict[str, Any], defaults: dict[str, Any], section: str, location: str
) -> Any:
    """Call ``function(**defaults, **args)``, keeping only defaults it accepts; unknown ``args`` list the valid ones."""
    parameters = inspect.signature(function).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    valid = [name for name, p in parameters.items() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    unknown = [key for key in args if key not in parameters and not takes_any]
    if unknown:
        from zoo.errors import UnknownNameError

        raise ConfigError(str(UnknownNameError("argument", unknown[0], valid, where=f"in {section} for {location}")))
    kwargs = {k: v for k, v in defaults.items() if k in parameters or takes_any}
    kwargs.update(args)
    try:
        inspect.signature(function).bind(**kwargs)
    except TypeError as error:
        raise ConfigError(f"{section} do not fit {location}: {error}") from error
    try:
        return function(**kwargs)
    except (ValueError, TypeError, ZeroDivisionError, RuntimeError) as error:
        if isinstance(error, ZooError):
            raise
        # A value the builder or loader cannot use (a width of 0, a negative count): say which section to check.
        given = ", ".join(f"{k}={v!r}" for k, v in args.items()) or "its defaults"
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise ConfigError(f"{location} cannot be built with {section} {given}: {first} "
                          f"(check the values of {section})") from error
