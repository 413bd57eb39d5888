"""Lambda's runtime deprecation: CreateFunction, UpdateFunctionConfiguration and UpdateFunctionCode
refused on a runtime past its block date, as Lambda refuses them.

The dates are the "Deprecated runtimes" table of
https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html (transcribed 2026-12-04): from "Block
function create" CreateFunction refuses the runtime; from "Block function update" updating a
function on it (its configuration or its code) is refused. The error is Lambda's own:
HTTP 400 `InvalidParameterValueException` (botocore `lambda` model, CreateFunction errors) with the
message below. ggp's copy of the table is `src/runtimes.rs`; a Rust test keeps the two equal.
The dates were transcribed, not fetched (no web access where they were written): re-check them
against the page, as `src/runtimes.rs` (TABLE) says.

The clock is the real date (UTC) unless the emulator is started with `--today YYYY-MM-DD` or
`GGP_BENCH_TODAY` (the Greengrass V1 tests model the V1 era, before any V1 runtime was blocked).
Not here: deprecation warnings (Lambda sends none over the API).
"""

from __future__ import annotations

import datetime
from typing import Any

READ_ON = "2026-12-04"

# runtime: (deprecation, block function create, block function update)
BLOCKED: dict[str, tuple[str, str, str]] = {
    "python3.7": ("2023-12-04", "2024-01-09", "2026-02-28"),
    "python3.8": ("2024-10-14", "2026-02-28", "2026-03-31"),
    "nodejs12.x": ("2023-03-31", "2023-03-31", "2026-02-28"),
    "nodejs14.x": ("2023-12-04", "2024-01-09", "2026-02-28"),
    "nodejs16.x": ("2024-06-12", "2026-02-28", "2026-03-31"),
    "java8": ("2024-01-08", "2024-02-08", "2026-02-28"),
    "python2.7": ("2021-07-15", "2021-07-15", "2022-05-30"),
}

_today: datetime.date | None = None


def set_today(day: datetime.date | str | None) -> None:
    """Fix the emulator's clock to `day` (None: the real date)."""
    global _today
    _today = datetime.date.fromisoformat(day) if isinstance(day, str) else day


def today() -> datetime.date:
    return _today or datetime.datetime.now(datetime.timezone.utc).date()


def _refuse(runtime: str) -> None:
    from moto.awslambda.exceptions import InvalidParameterValueException

    # Lambda's message, word for word.
    raise InvalidParameterValueException(
        f"The runtime parameter of {runtime} is no longer supported for creating or updating AWS Lambda functions. "
        "We recommend you use a supported runtime while creating or updating functions."
    )


def check(runtime: str | None, column: int) -> None:
    """Refuse `runtime` when today is on or after its date in `column` (1: create, 2: update)."""
    dates = BLOCKED.get(runtime or "")
    if dates and today() >= datetime.date.fromisoformat(dates[column]):
        _refuse(runtime)  # type: ignore[arg-type]


def patch() -> None:
    from moto.awslambda.models import LambdaBackend

    if getattr(LambdaBackend, "ggp_runtimes_patched", False):
        return
    LambdaBackend.ggp_runtimes_patched = True

    create, update_config, update_code = (
        LambdaBackend.create_function,
        LambdaBackend.update_function_configuration,
        LambdaBackend.update_function_code,
    )

    def create_function(self, spec: dict[str, Any]):
        check(spec.get("Runtime"), 1)
        return create(self, spec)

    def update_function_configuration(self, function_name: str, qualifier: str, body: dict[str, Any]):
        # The new runtime when the request names one, else the function's own.
        runtime = body.get("Runtime") or self.get_function(function_name, qualifier).run_time
        check(runtime, 2)
        return update_config(self, function_name, qualifier, body)

    def update_function_code(self, function_name: str, qualifier: str, body: dict[str, Any]):
        check(self.get_function(function_name, qualifier).run_time, 2)
        return update_code(self, function_name, qualifier, body)

    LambdaBackend.create_function = create_function
    LambdaBackend.update_function_configuration = update_function_configuration
    LambdaBackend.update_function_code = update_function_code
