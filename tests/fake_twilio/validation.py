"""Checking one request against its spec `Operation`, the way Twilio would reject it.

Owns: path parameter patterns, known query/form parameter names, repeated keys only for `type: array`
properties, required parameters, `x-twilio.conditional` groups, and enum/integer/number/boolean/string
constraints. Returns every problem found, most important first; the first one becomes the 400 answer.
String `format`s (`phone-number`, `uri`, `date-time`) are not checked: Twilio marks several with
`ignoreFormat`, and its real checks of those values are the magic-number behaviours in `magic.py`.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

from .params import Params
from .spec import Operation, Param, Schema

Deref = Callable[[Schema], Schema]

# Twilio's own codes for the commonest omissions; anything else gets the generic 20001.
MISSING_CODES: dict[tuple[str, str], tuple[int, str]] = {
    ("CreateMessage", "To"): (21604, "A 'To' phone number is required."),
    ("CreateCall", "To"): (21201, "No 'To' number is specified"),
    ("CreateCall", "From"): (21213, "No 'From' number is specified"),
}
CONDITIONAL_CODES: dict[tuple[str, int], tuple[int, str]] = {
    ("CreateMessage", 0): (21603, "A 'From' phone number is required."),
    ("CreateMessage", 1): (21602, "Message body is required."),
}
GENERIC_CODE = 20001


@dataclass(frozen=True, slots=True)
class Problem:
    code: int
    message: str


def validate(
    op: Operation, path_values: dict[str, str], query: Params, form: Params, deref: Deref
) -> list[Problem]:
    return [
        *_path(op, path_values, deref),
        *_required(op, query, form),
        *_conditional(op, form),
        *_named(op.query_params, query, "query string", deref),
        *_named(op.body_params, form, "post body", deref),
    ]


def _path(op: Operation, values: dict[str, str], deref: Deref) -> list[Problem]:
    problems = []
    for param in op.path_params:
        error = check_value(param.schema, values[param.name], deref)
        if error:
            problems.append(Problem(GENERIC_CODE, f"Invalid path parameter {param.name}: {error}"))
    return problems


def _required(op: Operation, query: Params, form: Params) -> list[Problem]:
    problems = []
    for params, sent, where in (
        (op.query_params, query, "query string"),
        (op.body_params, form, "post body"),
    ):
        for param in params.values():
            if param.required and not sent.present(param.name):
                code, message = MISSING_CODES.get(
                    (op.operation_id, param.name),
                    (GENERIC_CODE, f"Missing required parameter {param.name} in the {where}"),
                )
                problems.append(Problem(code, message))
    return problems


def _conditional(op: Operation, form: Params) -> list[Problem]:
    problems = []
    for index, group in enumerate(op.conditional):
        if not any(form.present(name) for name in group):
            code, message = CONDITIONAL_CODES.get(
                (op.operation_id, index),
                (GENERIC_CODE, f"One of {', '.join(group)} is required in the post body"),
            )
            problems.append(Problem(code, message))
    return problems


def _named(known: dict[str, Param], sent: Params, where: str, deref: Deref) -> list[Problem]:
    problems = []
    for name in sent.names():
        param = known.get(name)
        if param is None:
            # Real Twilio ignores unknown names (warning 20001); the fake refuses them to catch typos.
            problems.append(Problem(GENERIC_CODE, f"Unknown parameter {name} in the {where}"))
            continue
        values = sent.getall(name)
        is_array = param.schema.get("type") == "array"
        if len(values) > 1 and not is_array:
            problems.append(Problem(GENERIC_CODE, f"Parameter {name} is not a list and must not be repeated"))
        item_schema = param.schema.get("items", {}) if is_array else param.schema
        for value in values:
            error = check_value(item_schema, value, deref) if value != "" else None
            if error:
                problems.append(Problem(GENERIC_CODE, f"Invalid parameter {name}: {error}"))
    return problems


def check_value(schema: Schema, value: str, deref: Deref) -> str | None:
    """Why `value` (as sent on the wire) does not fit `schema`, or None if it does."""
    schema = deref(schema)
    kind = schema.get("type")
    if "enum" in schema and value not in schema["enum"]:
        return f"{value!r} is not one of {', '.join(map(str, schema['enum']))}"
    if kind == "boolean" and value.lower() not in ("true", "false"):
        return f"{value!r} is not a boolean (true or false)"
    if kind in ("integer", "number"):
        try:
            number = int(value) if kind == "integer" else float(value)
        except ValueError:
            return f"{value!r} is not {'an integer' if kind == 'integer' else 'a number'}"
        if "minimum" in schema and number < schema["minimum"]:
            return f"{value} is less than the minimum {schema['minimum']}"
        if "maximum" in schema and number > schema["maximum"]:
            return f"{value} is greater than the maximum {schema['maximum']}"
    if kind == "string":
        if "minLength" in schema and len(value) < schema["minLength"]:
            return f"{value!r} is shorter than {schema['minLength']} characters"
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            return f"{value!r} is longer than {schema['maxLength']} characters"
        if "pattern" in schema and not re.search(schema["pattern"], value):
            return f"{value!r} does not match {schema['pattern']}"
    return None
