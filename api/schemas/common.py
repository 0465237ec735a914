"""Field types every request shares: cleaned text, questions, and strict whole numbers."""

from __future__ import annotations

import math
from typing import Annotated, get_args

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, model_validator

from qa.dates import DATE_PATTERN
from qa.limits import MAX_PUBLISHED_CHARS, NONBLANK_PATTERN, QUESTION_MAX_CHARS, check_question, clean_text

# Every text field: lone surrogates (legal JSON, illegal UTF-8) are replaced rather than crashing later.
Text = Annotated[str, BeforeValidator(lambda v: clean_text(v) if isinstance(v, str) else v)]
# Questions: check_question enforces the rule (with its own words); the schema states the same rule.
Question = Annotated[Text, AfterValidator(check_question),
                     Field(json_schema_extra={"minLength": 1, "maxLength": QUESTION_MAX_CHARS, "pattern": NONBLANK_PATTERN})]


# Dates: the exact grammar qa.dates reads (ISO 8601 or an e-mail/RSS date), stated in the schema as Question's rule
# is (qa.dates checks it, with its own words).
DateText = Annotated[Text, Field(max_length=MAX_PUBLISHED_CHARS, json_schema_extra={"pattern": DATE_PATTERN})]


def _number(value):
    """JSON numbers only: no booleans or strings made into numbers (JSON Schema's "number" takes neither)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("must be a number")
    return value


Number = Annotated[float, BeforeValidator(_number)]


def _has_int(annotation) -> bool:
    """Whether a field's type is int (StrictInt, int | None, ...), looking inside Annotated and unions."""
    return annotation is int or any(_has_int(a) for a in get_args(annotation))


class WholeNumbers(BaseModel):
    """Integer fields are strict (no booleans, strings, fractions, NaN or infinities) but take 5.0 as 5,
    as JSON Schema's "integer" does."""

    @model_validator(mode="before")
    @classmethod
    def _integral_floats(cls, data):
        if isinstance(data, dict):
            ints = [name for name, f in cls.model_fields.items() if _has_int(f.annotation)]
            return {k: int(v) if k in ints and isinstance(v, float) and math.isfinite(v) and v.is_integer() else v
                    for k, v in data.items()}
        return data
