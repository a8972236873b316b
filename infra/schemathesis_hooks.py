"""Schemathesis hooks (infra/schemathesis.toml): widget requests act in the
project infra/contract.sh made for them (HAL_WIDGET_PROJECT).

A widget caller names its project in the body (or the query of a GET), as
`project_id` or its alias `app_id`; generated strings would name no project
and every request would stop at 404. A generated string there becomes that
project's id, and a generated `user_hash` string is dropped (the project
does not require identity verification; a wrong hash is refused, as
it should be, but then nothing else is tested). Values of any other type are
left alone, so input generated to be invalid stays invalid.
"""

import os

import schemathesis

PROJECT = os.environ["HAL_WIDGET_PROJECT"]


def _caller(fields):
    if not isinstance(fields, dict):
        return
    for key in ("project_id", "app_id"):
        if isinstance(fields.get(key), str):
            fields[key] = PROJECT
    if isinstance(fields.get("user_hash"), str):
        del fields["user_hash"]


@schemathesis.hook
def map_case(context, case):
    if case.operation.path.startswith("/api/widget/"):
        _caller(case.body)
        _caller(case.query)
    return case
