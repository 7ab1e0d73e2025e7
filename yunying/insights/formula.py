"""Formulas across trend series (``"B/A*100"``): parsed, never ``eval``-ed.

Grammar: expr := term (('+'|'-') term)* ; term := factor (('*'|'/') factor)* ;
factor := NUMBER | LETTER | '(' expr ')' | '-' factor. Division by zero gives None, and
None propagates (docs/metrics.md, Trends).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

Evaluator = Callable[[Mapping[str, float]], float | None]
_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d+)?)|([A-Z])|([-+*/()]))")


class FormulaError(ValueError):
    pass


def _tokens(text: str) -> list[str]:
    tokens, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise FormulaError(f"formula {text!r}: unexpected {text[pos:].strip()[:10]!r} at {pos + 1}; "
                               "use series letters A, B, …, numbers, + - * / and parentheses")
        tokens.append(match.group(1) or match.group(2) or match.group(3))
        pos = match.end()
    return tokens


def _binary(op: str, left: Evaluator, right: Evaluator) -> Evaluator:
    def run(values: Mapping[str, float]) -> float | None:
        a, b = left(values), right(values)
        if a is None or b is None:
            return None
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        return None if b == 0 else a / b
    return run


def parse_formula(text: str, letters: set[str]) -> Evaluator:
    """Compile ``text`` into a function of {letter: value}; letters must be known series."""
    tokens = _tokens(text)
    pos = 0

    def peek() -> str | None:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> str:
        nonlocal pos
        if pos >= len(tokens):
            raise FormulaError(f"formula {text!r} ends too early")
        pos += 1
        return tokens[pos - 1]

    def factor() -> Evaluator:
        token = take()
        if token == "(":
            inner = expr()
            if take() != ")":
                raise FormulaError(f"formula {text!r}: missing ')'")
            return inner
        if token == "-":
            operand = factor()
            return lambda v: None if (x := operand(v)) is None else -x
        if token.isalpha():
            if token not in letters:
                raise FormulaError(f"formula {text!r} uses series {token}, but the series are "
                                   f"{', '.join(sorted(letters))}")
            return lambda v: v.get(token, 0.0)
        if token[0].isdigit():
            number = float(token)
            return lambda v: number
        raise FormulaError(f"formula {text!r}: unexpected {token!r}")

    def term() -> Evaluator:
        result = factor()
        while peek() in ("*", "/"):
            result = _binary(take(), result, factor())
        return result

    def expr() -> Evaluator:
        result = term()
        while peek() in ("+", "-"):
            result = _binary(take(), result, term())
        return result

    if not tokens:
        raise FormulaError("formula is empty")
    evaluator = expr()
    if pos != len(tokens):
        raise FormulaError(f"formula {text!r}: unexpected {tokens[pos]!r}")
    return evaluator
