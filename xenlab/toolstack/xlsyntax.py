"""Reading an xl.cfg file: tokens, then settings (``KEY = VALUE``), never ``eval``.

Part of the configuration reader (:mod:`xenlab.toolstack.xlcfg`, which checks what the settings
mean).  The syntax is xl.cfg(5)'s: comments, strings in either quote with C escapes, decimal
and 0x integers, lists in ``[ ]`` that may span lines; settings end at a newline or ``;``.
The tokenizer knows lines and columns, so every :class:`XlConfigError` names the file, the
line, the column where it helps, and the key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


class XlConfigError(ValueError):
    """A configuration file xenlab cannot use; ``str()`` is one line for the user:
    ``guest.cfg:7: memory: expected an integer number of MiB, ...``."""

    def __init__(
        self,
        message: str,
        *,
        file: str,
        line: int | None = None,
        column: int | None = None,
        key: str | None = None,
    ) -> None:
        self.message, self.file, self.key = message, file, key
        self.line, self.column = line, column
        where = file + "".join(f":{n}" for n in (line, column) if n is not None)
        super().__init__(f"{where}: {key + ': ' if key else ''}{message}")


@dataclass(frozen=True)
class Token:
    kind: str  # "ident", "number", "string", "newline", "eof", or the symbol: = [ ] , ; +=
    text: str  # the source text (a string's value, unquoted)
    line: int
    column: int


@dataclass(frozen=True)
class Value:
    kind: str  # "string", "int" or "list"
    data: str | int | tuple[Value, ...]
    line: int
    column: int


@dataclass(frozen=True)
class Setting:
    key: str
    value: Value
    line: int


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "f": "\f", "v": "\v"}
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"[0-9][0-9A-Za-z_.]*")  # greedy, so '64M' is one (bad) number
_NUMERIC_ESCAPE = re.compile(r"x([0-9A-Fa-f]{2})|([0-7]{1,3})")  # \x41, \101


def _tokenize(text: str, source: str) -> list[Token]:
    tokens: list[Token] = []
    line, line_start, i = 1, 0, 0
    while i < len(text):
        c, column = text[i], i - line_start + 1
        if c in " \t\r\f":
            i += 1
        elif c == "#":  # a comment runs to the end of the line (not past it)
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
        elif c == "\n":
            tokens.append(Token("newline", "\n", line, column))
            i, line, line_start = i + 1, line + 1, i + 1
        elif c in "\"'":
            value, i = _read_string(text, i, line, column, source)
            tokens.append(Token("string", value, line, column))
        elif match := _NUMBER.match(text, i):
            tokens.append(Token("number", match.group(), line, column))
            i = match.end()
        elif match := _WORD.match(text, i):
            tokens.append(Token("ident", match.group(), line, column))
            i = match.end()
        elif text.startswith("+=", i):
            tokens.append(Token("+=", "+=", line, column))
            i += 2
        elif c in "=[],;":
            tokens.append(Token(c, c, line, column))
            i += 1
        else:
            hint = (
                " (xl.cfg is not Python: lists are [ ], and there are no tuples)"
                if c in "()"
                else ""
            )
            raise XlConfigError(
                f"syntax error: unexpected character {c!r}{hint}",
                file=source,
                line=line,
                column=column,
            )
    tokens.append(Token("eof", "", line, i - line_start + 1))
    return tokens


def _read_string(text: str, start: int, line: int, column: int, source: str) -> tuple[str, int]:
    """The string opened by the quote at ``start`` (xl's escapes), and where it ends."""
    quote, out, i = text[start], [], start + 1
    while i < len(text) and text[i] != "\n":
        c = text[i]
        if c == quote:
            return "".join(out), i + 1
        if c == "\\" and i + 1 < len(text) and text[i + 1] != "\n":
            nc = text[i + 1]
            if nc in "\"'\\":
                out.append(nc)
                i += 2
            elif nc in _ESCAPES:
                out.append(_ESCAPES[nc])
                i += 2
            elif m := _NUMERIC_ESCAPE.match(text, i + 1):
                out.append(chr(int(m.group(1), 16) if m.group(1) else int(m.group(2), 8)))
                i = m.end()
            else:
                raise XlConfigError(
                    f"syntax error: unknown escape '\\{nc}' in a string (to write a backslash,"
                    " double it: '\\\\')",
                    file=source,
                    line=line,
                    column=i - start + column,
                )
        else:
            out.append(c)
            i += 1
    raise XlConfigError(
        f"syntax error: unterminated string: the {quote} opened here is not closed on this line",
        file=source,
        line=line,
        column=column,
    )


def _describe(token: Token) -> str:
    return {
        "newline": "the end of the line",
        "eof": "the end of the file",
        "string": f"the string {token.text!r}",
        "number": f"{token.text!r}",
        "ident": f"the word {token.text!r}",
    }.get(token.kind, f"'{token.text}'")


class Parser:
    """``file := { [KEY = VALUE] (newline | ';') }``, a value being a string, a number or
    a list of them in [ ] (newlines allowed inside, trailing comma allowed)."""

    def __init__(self, text: str, source: str) -> None:
        self.source = source
        self.tokens = _tokenize(text, source)
        self.at = 0

    def error(self, message: str, token: Token, key: str | None = None) -> XlConfigError:
        return XlConfigError(
            f"syntax error: {message}",
            file=self.source,
            line=token.line,
            column=token.column,
            key=key,
        )

    def next(self) -> Token:
        token = self.tokens[self.at]
        self.at += token.kind != "eof"
        return token

    def peek(self) -> Token:
        return self.tokens[self.at]

    def settings(self) -> list[Setting]:
        found: list[Setting] = []
        while (token := self.next()).kind != "eof":
            if token.kind in ("newline", ";"):
                continue  # blank lines, comment lines, stray ';'
            if token.kind != "ident":
                raise self.error(
                    f"expected a setting 'KEY = VALUE', found {_describe(token)}", token
                )
            key = token.text
            equals = self.next()
            if equals.kind == "+=":
                raise self.error("'+=' is not supported: give the whole value at once", equals, key)
            if equals.kind != "=":
                raise self.error(
                    f"expected '=' after {key!r}, found {_describe(equals)}", equals, key
                )
            value = self.value(key)
            end = self.next()
            if end.kind not in ("newline", ";", "eof"):
                raise self.error(
                    f"expected the end of the line or ';' after the value, found {_describe(end)}",
                    end,
                    key,
                )
            found.append(Setting(key, value, token.line))
        return found

    def value(self, key: str) -> Value:
        token = self.next()
        if token.kind == "[":
            items: list[Value] = []
            while True:
                self.skip_newlines(token, key)
                if self.peek().kind == "]":
                    self.next()
                    return Value("list", tuple(items), token.line, token.column)
                items.append(self.scalar(key, in_list=True))
                self.skip_newlines(token, key)
                after = self.next()
                if after.kind == "]":
                    return Value("list", tuple(items), token.line, token.column)
                if after.kind != ",":
                    raise self.error(
                        f"expected ',' or ']' in the list opened on line {token.line}, found "
                        f"{_describe(after)}",
                        after,
                        key,
                    )
        self.at -= token.kind != "eof"
        return self.scalar(key, in_list=False)

    def scalar(self, key: str, *, in_list: bool) -> Value:
        token = self.next()
        if token.kind == "string":
            return Value("string", token.text, token.line, token.column)
        if token.kind == "number":
            return Value("int", self.number(token, key), token.line, token.column)
        what = "a list item (a string or a number)" if in_list else "a value"
        hint = " (lists cannot be nested)" if token.kind == "[" else ""
        raise self.error(f"expected {what}, found {_describe(token)}{hint}", token, key)

    def number(self, token: Token, key: str) -> int:
        text = token.text
        if re.fullmatch(r"0[xX][0-9A-Fa-f]+", text):
            return int(text, 16)
        if re.fullmatch(r"0|[1-9][0-9]*", text):
            return int(text)
        if re.fullmatch(r"0[0-9]+", text):
            raise self.error(
                f"{text!r}: xl would read a leading 0 as octal; write it in decimal or 0x hex",
                token,
                key,
            )
        raise self.error(
            f"{text!r} is not a number: xl takes plain integers (decimal or 0x hex), "
            "without units or a decimal point",
            token,
            key,
        )

    def skip_newlines(self, opening: Token, key: str) -> None:
        """Inside a list, newlines are just spaces; the end of the file is an error."""
        while self.peek().kind == "newline":
            self.next()
        if self.peek().kind == "eof":
            raise self.error("unterminated list: the [ opened here has no ]", opening, key)
