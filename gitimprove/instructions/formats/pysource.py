"""Python source files whose instructions are string literals, read with :mod:`ast`, never run.

A string is managed only when its value is written in the file as one string literal (``"..."``,
``'''...'''``, ``r"..."``), directly or through a module-level constant assigned once, or as what a function that can
return nothing else returns (:meth:`Source.returned`, and :meth:`Source.provided` for a function
ADK calls with the context); literals written one after another (``("..." "...")``) are one
text, edited by rewriting the pieces its edit changed. An f-string's text parts are a text
whose replacement fields are code (:class:`FString`), its braces of text shown as the file
writes them (``{{``). A concatenation, another call, or a name
from another module is refused with the reason.

An edit replaces exactly the literal's characters with a literal of the same prefix and
quotes; the rest of the file keeps its bytes. When the file writes the text without needless
escapes (the usual case), a line of the string that no edit touches keeps its bytes too.
"""

from __future__ import annotations

import ast
import codecs
import io
import re
import tokenize

from gitimprove.dataclass import dataclass
from gitimprove.errors import InvalidFileError
from gitimprove.instructions.formats.prose import EditError, Lines

_PREFIX_RE = re.compile(r"\A([A-Za-z]*)('''|\"\"\"|'|\")")
_LINE_END_RE = re.compile(r"\r\n|\r|\n")  # the line ends Python's own tokenizer counts
_COOKIE_RE = re.compile(r"\A[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")  # PEP 263


@dataclass(frozen=True)
class Literal:
    """One string literal of a file: its character span, prefix, quotes and value."""

    start: int
    end: int
    prefix: str
    quote: str
    value: str
    eol: str  # the line end inside a triple-quoted literal
    # literals written one after another (`("You help. "\n "Be brief.")`): each piece's span
    # and value, and the text between the first two (`\n    `)
    pieces: tuple[tuple[int, int, str], ...] = ()  # offsets in ``written``
    sep: str = " "
    written: str = ""  # the pieces as the file writes them
    width: int = 0  # columns a new piece may take: to column 80, or as the widest piece

    def code(self) -> str:
        """What of the literal is code no edit may change (an f-string's fields)."""
        return ""

    def as_read(self) -> str:
        """The text as Python builds it, an f-string's fields as the file writes them."""
        return self.value

    def as_written(self, text: str, before: str = "") -> str:
        """``text``, new words for this literal in place of ``before`` (a rule, a section's
        text), as :attr:`value` spells it."""
        return text

    def text(self, value: str | None = None) -> str:
        """The literal's value (or ``value``, an edit of it) without its code: what is text
        when the program runs (an f-string's fields are masked)."""
        return self.value if value is None else value

    @property
    def raw(self) -> bool:
        return "r" in self.prefix.lower()

    def lines(self, first_id: str) -> Lines:
        """The value as editable lines; a triple-quoted block's common indentation is the
        block's own (new lines take it), as a YAML block's is."""
        parts = self.value.split("\n")
        raw = [p + "\n" for p in parts[:-1]] + [parts[-1]]
        indent = ""
        if len(self.quote) == 3:
            body = [p for p in parts[1:] if p.strip()]
            indent = _common_indent(body) if body else ""
        return Lines(raw, indent=indent, first_id=first_id)

    def source(self, value: str) -> str:
        """``value`` written as a literal of this one's prefix and quotes (for pieces, what
        replaces them all: :meth:`_pieces`)."""
        if self.pieces:
            return self._pieces(value)
        return self._encode(value)

    def _encode(self, value: str) -> str:
        written = encode(value, self.prefix, self.quote, self.eol)
        if written is None:
            raise EditError(f"the edited text cannot be written as a {self.prefix}{self.quote} string "
                            "literal (a raw string cannot hold it)",
                            hint="edit this file by hand")
        return written

    def _pieces(self, value: str) -> str:
        """The pieces whose text ``value`` still begins or ends with keep their bytes; the text
        between is written as new pieces of the first one's prefix and quotes, a piece per line
        of the text (with the blank lines after it), broken before a space to end by column 80 (or
        be no wider than the widest piece), separated as the first two are."""
        pieces, text = self.pieces, self.written
        head = 0  # pieces kept at the start
        while head < len(pieces) and value.startswith(_joined(pieces[:head + 1])):
            head += 1
        tail = 0  # and at the end, not overlapping those
        while head + tail < len(pieces) and value[len(_joined(pieces[:head])):].endswith(
                _joined(pieces[len(pieces) - tail - 1:])):
            tail += 1
        middle = value[len(_joined(pieces[:head])): len(value) - len(_joined(pieces[len(pieces) - tail:]))]
        new = [self._encode(part) for line in re.findall(r"[^\n]*\n+|[^\n]+\Z", middle)
               for part in _wrap(line, self.width - len(self.prefix) - 2)]
        out = [text[pieces[0][0]:pieces[head - 1][1]]] if head else []
        out += new
        if tail:
            out.append(text[pieces[len(pieces) - tail][0]:pieces[-1][1]])
        return self.sep.join(out) if out else self._encode("")


@dataclass(frozen=True)
class FString(Literal):
    """An f-string (``f\"\"\"...{CONST}...\"\"\"``): its text parts are the instruction, its
    replacement fields are code. :attr:`value` spells both as the file writes them: a field
    ``{CONST}``, at :attr:`fields`; a brace of the text doubled, ``{{CONST}}`` (which Python
    builds as ``{CONST}``, for ADK to fill from the session state), so that the two never look
    alike. An edit keeps every field, whole and in order, and adds none; new words come in
    through :meth:`as_written`, which doubles a brace of theirs (a field of the words they
    replace, written again as it was, stays that field)."""

    fields: tuple[tuple[int, int], ...] = ()  # each field's span in ``value``

    def code(self) -> str:
        return "\x00".join(self.value[a:b] for a, b in self.fields)

    def as_read(self) -> str:
        out, at = [], 0
        for a, b in self.fields:
            out += [_unbraced(self.value[at:a], strict=False), self.value[a:b]]
            at = b
        return "".join(out) + _unbraced(self.value[at:], strict=False)

    def as_written(self, text: str, before: str = "") -> str:
        """New words as :attr:`value` spells them. A field of ``before`` written again as it
        was, in order, stays that field; around them, words whose braces all come in pairs
        (``{{``, ``}}``) are spelled so already, else every brace of theirs is text, doubled."""
        found = _fields(before, True)
        keep = [before[a:b] for a, b in found] if not isinstance(found, str) else []
        parts: list[str] = [""]  # text, field, text, ...
        i = 0
        while i < len(text):
            c = text[i]
            if c in "{}" and text.startswith(c * 2, i):
                parts[-1] += c * 2
                i += 2
                continue
            end = _field_end(text, i + 1) if c == "{" and keep else None
            if end is not None and text[i:end] == keep[0]:
                parts += [keep.pop(0), ""]
                i = end
                continue
            parts[-1] += c
            i += 1
        texts = parts[::2]
        if any(_braces_alone(t) for t in texts):
            parts[::2] = [_braced(t) for t in texts]
        return "".join(parts)

    def text(self, value: str | None = None) -> str:
        fields = self.fields if value is None else self._same_fields(value)
        value = self.value if value is None else value
        out, at = [], 0
        for a, b in fields:
            out += [_unbraced(value[at:a], strict=False), "\x00"]
            at = b
        return "".join(out) + _unbraced(value[at:], strict=False)

    def source(self, value: str) -> str:
        out, at = [], 0
        for a, b in self._same_fields(value):
            out += [self._text(value[at:a]), value[a:b]]
            at = b
        out.append(self._text(value[at:]))
        return self.prefix + self.quote + "".join(out) + self.quote

    def _same_fields(self, value: str) -> list[tuple[int, int]]:
        """The fields of ``value``, an edit of :attr:`value`: the same, whole and in order."""
        old = [self.value[a:b] for a, b in self.fields]
        found = _fields(value, True)
        new = [] if isinstance(found, str) else [value[a:b] for a, b in found]
        if isinstance(found, str) or new[:len(old)] != old:
            gone = next((f for i, f in enumerate(old) if i >= len(new) or new[i] != f), old[0])
            raise EditError(f"the edit removes, changes or splits the replacement field `{gone}` of an "
                            "f-string, which is code", hint="keep the field as it is, or edit by hand")
        if len(new) > len(old):
            raise EditError(f"the edit adds a replacement field `{new[len(old)]}` to an f-string, which is "
                            "code", hint="a brace of the text is written doubled ({{), as the file does")
        assert not isinstance(found, str)
        return found

    def _text(self, text: str) -> str:
        prefix = self.prefix.replace("f", "").replace("F", "")
        written = encode(_unbraced(text), prefix, self.quote, self.eol)
        if written is None:
            raise EditError(f"the edited text cannot be written in a {self.prefix}{self.quote} f-string "
                            "(a raw string cannot hold it)", hint="edit this file by hand")
        return written[len(prefix) + len(self.quote):len(written) - len(self.quote)] \
            .replace("{", "{{").replace("}", "}}")


def _braced(text: str) -> str:
    """Text of an f-string as the file writes it: each brace doubled."""
    return text.replace("{", "{{").replace("}", "}}")


def _braces_alone(text: str) -> bool:
    """Whether a brace of ``text`` is not one of a pair (``{{``, ``}}``)."""
    return bool(re.search(r"[{}]", re.sub(r"\{\{|\}\}", "", text)))


def _unbraced(text: str, *, strict: bool = True) -> str:
    """Text of an f-string as Python builds it: ``{{`` is ``{``. ``strict``: a brace alone,
    which Python would refuse, is an :class:`EditError` (else it stays one brace)."""
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c in "{}":
            if not text.startswith(c * 2, i) and strict:
                raise EditError(f"a single `{c}` in the text of an f-string, which Python refuses",
                                hint=f"write a brace of the text doubled ({c * 2})")
            i += 2 if text.startswith(c * 2, i) else 1
            out.append(c)
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _fields(body: str, raw: bool) -> list[tuple[int, int]] | str:
    """The spans of an f-string body's replacement fields (``{...}``, with any conversion and
    format spec), or why they cannot be found safely."""
    out: list[tuple[int, int]] = []
    i, n = 0, len(body)
    while i < n:
        c = body[i]
        if c == "\\" and not raw:
            if body.startswith("N{", i + 1):
                close = body.find("}", i)
                i = close + 1 if close > 0 else n
            else:
                i += 2
        elif c in "{}" and body.startswith(c * 2, i):
            i += 2
        elif c == "{":
            end = _field_end(body, i + 1)
            if end is None:
                return "an f-string with a replacement field gitimprove cannot read"
            if "\n" in body[i:end] or "\r" in body[i:end]:
                return "an f-string with a replacement field over several lines"
            out.append((i, end))
            i = end
        else:
            i += 1
    return out


def _field_end(body: str, i: int) -> int | None:
    """The end of the field whose expression starts at ``i``: past its closing ``}``."""
    depth, spec = 0, False
    while i < len(body):
        c = body[i]
        if c in "'\"" and not spec:
            quote = c * 3 if body.startswith(c * 3, i) else c
            close = body.find(quote, i + len(quote))
            if close < 0:
                return None
            i = close + len(quote)
            continue
        if c in "([{":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif c == "}":
            if depth == 0:
                return i + 1
            depth -= 1
        elif c == ":" and depth == 0 and not spec:
            spec = True  # the format spec: nested fields are braces, the rest is text
        i += 1
    return None


def _joined(pieces: tuple[tuple[int, int, str], ...]) -> str:
    return "".join(p[2] for p in pieces)


def _wrap(line: str, width: int) -> list[str]:
    """``line`` in parts of at most ``width`` characters where it can, each break before a
    space (the next part starts with it, as formatters write long strings)."""
    parts: list[str] = []
    while len(line) > width > 0:
        cut = line.rfind(" ", 1, width)
        if cut <= 0:
            break
        parts.append(line[:cut])
        line = line[cut:]
    return [*parts, line] if line or not parts else parts


def _common_indent(lines: list[str]) -> str:
    first = lines[0]
    indent = first[: len(first) - len(first.lstrip(" \t"))]
    for line in lines[1:]:
        while not line.startswith(indent):
            indent = indent[:-1]
    return indent


def encode(value: str, prefix: str, quote: str, eol: str = "\n") -> str | None:
    """``value`` as a Python literal with ``prefix`` and ``quote``; None when that is impossible
    (a raw string that would need an escape)."""
    triple = len(quote) == 3
    q = quote[0]
    if "r" in prefix.lower():
        ok = ("\r" not in value and (triple or "\n" not in value) and not value.endswith(q)
              and (quote not in value if triple else q not in value)
              and (len(value) - len(value.rstrip("\\"))) % 2 == 0
              and not any(_escape(c) for c in value if c not in "\n\t"))
        return prefix + quote + value.replace("\n", eol) + quote if ok else None
    out = []
    for i, c in enumerate(value):
        if c == "\\":
            out.append("\\\\")
        elif c == "\n":
            out.append(eol if triple else "\\n")
        elif c == q and (not triple or value[i:i + 3] == quote or i == len(value) - 1):
            out.append("\\" + c)
        else:
            out.append(_escape(c) or c)
    return prefix + quote + "".join(out) + quote


def _escape(c: str) -> str | None:
    """The escape of a character that a literal should not hold as it is (control characters,
    which would reach a terminal, and line ends other than ``\\n``)."""
    if c == "\t":
        return None
    if c == "\r":
        return "\\r"
    code = ord(c)
    if code < 0x20 or code == 0x7F or 0x80 <= code < 0xA0:
        return f"\\x{code:02x}"
    if c in "\u2028\u2029\ufeff":
        return f"\\u{code:04x}"
    return None


class Source:
    """A Python module's text and syntax tree, with character offsets for its nodes."""

    def __init__(self, text: str, source: str) -> None:
        self.text = text
        self.source = source
        _check_encoding(text, source)
        try:
            self.tree = ast.parse(text, filename=source)
        except SyntaxError as exc:
            raise InvalidFileError([f"{source}:{exc.lineno or 0}: not valid Python: {exc.msg}"],
                                   hint="fix the syntax error (python -m py_compile shows the same place)") \
                from None
        except ValueError as exc:  # a NUL byte
            raise InvalidFileError([f"{source}: not valid Python: {exc}"]) from None
        self._starts = [0]
        for m in _LINE_END_RE.finditer(text):
            self._starts.append(m.end())

    def offset(self, line: int, col: int) -> int:
        """The character offset of ``ast``'s (1-based line, UTF-8 byte column)."""
        start = self._starts[line - 1]
        end = self._starts[line] if line < len(self._starts) else len(self.text)
        return start + len(self.text[start:end].encode("utf-8")[:col].decode("utf-8", "replace"))

    def span(self, node: ast.expr | ast.stmt) -> tuple[int, int]:
        assert node.end_lineno is not None and node.end_col_offset is not None
        return self.offset(node.lineno, node.col_offset), self.offset(node.end_lineno, node.end_col_offset)

    def literal(self, node: ast.expr) -> Literal | str:
        """The string literal ``node`` is, or why it is not one."""
        if isinstance(node, ast.JoinedStr):
            return self._fstring(node)
        if not isinstance(node, ast.Constant) or not isinstance(node.value, str):
            return _what(node)
        start, end = self.span(node)
        segment = self.text[start:end]
        eol = "\r\n" if "\r\n" in segment else "\n"
        try:  # in parentheses, as the group is in the file: its line ends are not statements'
            tokens = [t for t in tokenize.generate_tokens(io.StringIO("(" + segment + ")").readline)
                      if t.type in (tokenize.STRING, tokenize.COMMENT)]
        except (tokenize.TokenError, SyntaxError):
            tokens = []
        match = _PREFIX_RE.match(segment)
        if match is None or not tokens:
            return "not a string literal"
        if len(tokens) == 1:
            return Literal(start, end, match.group(1), match.group(2), node.value, eol)
        several = "several string literals written one after another"
        if any(t.type == tokenize.COMMENT for t in tokens):
            return f"{several}, with comments among them (a comment would be lost in an edit)"
        rows = [0] + [m.end() for m in re.finditer("\n", segment)]
        pieces = []
        for t in tokens:
            at = _PREFIX_RE.match(t.string)
            if at is None or at.group(1).lower() != match.group(1).lower() or len(at.group(2)) == 3:
                return f"{several}, of different kinds or triple-quoted (joined when the program runs)"
            a = rows[t.start[0] - 1] + t.start[1] - (t.start[0] == 1)
            b = rows[t.end[0] - 1] + t.end[1] - (t.end[0] == 1)
            pieces.append((a, b, ast.literal_eval(t.string)))
        column = start - (self.text.rfind("\n", 0, start) + 1)
        widest = max(b - a for a, b, _ in pieces)
        return Literal(start, end, match.group(1), match.group(2), node.value, eol, tuple(pieces),
                       segment[pieces[0][1]:pieces[1][0]], segment, max(widest, 80 - column))


    def _fstring(self, node: ast.JoinedStr) -> FString | str:
        """The f-string ``node`` is, its fields found in its source and checked against what
        Python reads, or why it is not one gitimprove can edit."""
        start, end = self.span(node)
        segment = self.text[start:end]
        match = _PREFIX_RE.match(segment)
        try:
            tokens = [t for t in tokenize.generate_tokens(io.StringIO("(" + segment + ")").readline)
                      if t.type == tokenize.STRING]
        except (tokenize.TokenError, SyntaxError):
            tokens = []
        if match is None or len(tokens) != 1:
            return "an f-string joined with other string literals"
        prefix, quote = match.group(1), match.group(2)
        body = segment[len(prefix) + len(quote):len(segment) - len(quote)]
        found = _fields(body, "r" in prefix.lower())
        unsafe = "an f-string gitimprove cannot write back as Python reads it (a `{x=}` field, or an escape it cannot keep)"
        if isinstance(found, str):
            return found
        parts: list[str | tuple[int, int]] = []
        at = 0
        for a, b in found:
            parts += [body[at:a], (a, b)]
            at = b
        parts.append(body[at:])
        parts = [p for p in parts if p != ""]
        if all(isinstance(p, tuple) for p in parts):
            return "an f-string with no text of its own, only replacement fields (code)"
        if len(parts) != len(node.values) or any(
                isinstance(p, str) != isinstance(v, ast.Constant) for p, v in zip(parts, node.values, strict=False)):
            return unsafe
        value, fields = "", []
        for p, v in zip(parts, node.values, strict=True):
            if isinstance(p, tuple):
                fields.append((len(value), len(value) + p[1] - p[0]))
                value += body[p[0]:p[1]]
            else:
                assert isinstance(v, ast.Constant) and isinstance(v.value, str)
                value += _braced(v.value)
        eol = "\r\n" if "\r\n" in segment else "\n"
        literal = FString(start, end, prefix, quote, value, eol, fields=tuple(fields))
        try:
            again = ast.parse("(" + literal.source(value) + ")", mode="eval").body
        except (SyntaxError, EditError):
            return unsafe
        if ast.dump(again) != ast.dump(node):
            return unsafe
        return literal

    def returned(self, func: ast.stmt) -> Literal | str:
        """The literal a function always returns, or why it may return anything else. Its
        body, after an optional docstring, is ``return "..."``, or names each assigned a string
        (``text = "..."``) then ``return text``, ``text`` assigned once; it takes no parameters
        and has no decorator."""
        if not isinstance(func, ast.FunctionDef):
            return "not a function (`def`)"
        args = func.args
        if func.decorator_list or args.posonlyargs or args.args or args.vararg or args.kwonlyargs \
                or args.kwarg:
            return "a function with parameters or a decorator"
        body = func.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            body = body[1:]  # the docstring
        value: ast.expr | None = None
        if body and isinstance(body[-1], ast.Return) and isinstance(body[-1].value, ast.Name):
            # `text_v1 = "..."`, `text_v0 = "..."` (a draft kept), then `return text_v1`
            texts: dict[str, list[ast.expr]] = {}
            for stmt in body[:-1]:
                if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                        and isinstance(stmt.targets[0], ast.Name) and isinstance(stmt.value, ast.Constant)
                        and isinstance(stmt.value.value, str)):
                    break
                texts.setdefault(stmt.targets[0].id, []).append(stmt.value)
            else:
                if len(texts.get(body[-1].value.id, [])) == 1:
                    body = [ast.Return(texts[body[-1].value.id][0])]
        if len(body) == 1 and isinstance(body[0], ast.Return):
            value = body[0].value
        if value is None:
            return ("a function that does more than return one string (its body must be `return \"...\"`, "
                    "or string constants assigned once, `text = \"...\"`, then `return text`)")
        found = self.literal(value)
        return found if isinstance(found, Literal) else f"a function that returns {found}"


    def provided(self, func: ast.stmt) -> ast.expr | str:
        """What a function ADK calls for the text (an InstructionProvider, ``def provider(ctx)``)
        returns, when every ``return`` of it returns the same expression, after any code: a
        name the function assigns once to a string literal stands for that literal. Or why
        its text is not one thing gitimprove can find (a decorator, a generator, two different
        ``return`` values, a path that returns nothing)."""
        if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return "not a function (`def`)"
        if func.decorator_list:
            return "a function with a decorator (which may change what it returns)"
        if not (func.args.posonlyargs or func.args.args or func.args.vararg):
            return "a function without a parameter for the context ADK passes it"
        returns: list[ast.Return] = []
        todo: list[ast.AST] = list(func.body)
        while todo:
            node = todo.pop()
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                continue
            if isinstance(node, (ast.Yield, ast.YieldFrom)):
                return "a generator function"
            if isinstance(node, ast.Return):
                returns.append(node)
            todo.extend(ast.iter_child_nodes(node))
        if not func.body or not isinstance(func.body[-1], (ast.Return, ast.Raise)):
            return "a function that may end without returning its text (its last statement is not `return`)"
        returns.sort(key=lambda r: r.lineno)
        empty = next((r for r in returns if r.value is None), None)
        if empty is not None:
            return f"a function that may return nothing (line {empty.lineno})"
        values = {ast.dump(r.value): r for r in returns if r.value is not None}
        if len(values) > 1:
            lines = ", ".join(str(r.lineno) for r in values.values())
            return (f"a function that returns {len(values)} different things (lines {lines}); gitimprove "
                    "manages it only when every `return` gives the one text")
        value = returns[0].value
        assert value is not None
        a = func.args
        params = {x.arg for x in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg] if x is not None}

        def local(name: str) -> bool:
            return name in params or any(_binds(stmt, name) for stmt in func.body)

        if isinstance(value, ast.Name) and value.id in params:
            return f"a function that returns its parameter `{value.id}`"
        if isinstance(value, ast.Name) and local(value.id):
            bound = [stmt for stmt in func.body if _binds(stmt, value.id)]
            stmt = bound[0]
            if len(bound) > 1 or not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                                      and isinstance(stmt.targets[0], ast.Name)):
                return f"a function that returns `{value.id}`, which it may assign more than once"
            value = stmt.value
        if not isinstance(value, (ast.Constant, ast.JoinedStr)):  # an f-string's fields are code
            names = sorted({n.id for n in ast.walk(value) if isinstance(n, ast.Name) and local(n.id)})
            if names:
                return (f"a function that returns `{ast.unparse(value)[:60]}`, built from what it sets when "
                        f"it runs (`{names[0]}`)")
        return value

def _check_encoding(text: str, source: str) -> None:
    """Refuse a file that tells Python to read it in another encoding than UTF-8 (PEP 263): Python
    would run other code than gitimprove checks (in UTF-7, ``+ACI-`` in a rule is a quote that
    ends the string)."""
    for line in _LINE_END_RE.split(text.removeprefix("\ufeff"), maxsplit=2)[:2]:
        match = _COOKIE_RE.match(line)
        if match is None:
            if line.strip(" \t\f") and not line.lstrip(" \t\f").startswith("#"):
                return  # Python reads the second line's cookie only after a blank or comment line
            continue
        try:
            name = codecs.lookup(match.group(1)).name
        except LookupError:
            name = match.group(1)
        if name != "utf-8":
            raise InvalidFileError([f"{source}: declares the source encoding {match.group(1)!r}; gitimprove "
                                    "reads and writes Python files as UTF-8"],
                                   hint="remove the coding line, or declare utf-8 (# -*- coding: utf-8 -*-)")
        return


def _what(node: ast.expr) -> str:
    if isinstance(node, ast.BinOp):
        return "an expression joining strings (`+`, `%`)"
    if isinstance(node, ast.Call):
        return f"a call (`{ast.unparse(node.func)}(...)`), whose result is known only when the program runs"
    if isinstance(node, ast.Attribute):
        return f"`{ast.unparse(node)}`, a name from another module"
    if isinstance(node, ast.Name):
        return f"`{node.id}`, which is not a string constant of this file"
    return f"`{ast.unparse(node)[:60]}`, not a string literal"


def bindings(tree: ast.Module, name: str) -> list[ast.stmt]:
    """The statements of the module (at any depth) that bind ``name`` at module level."""
    out: list[ast.stmt] = []
    for stmt in tree.body:
        if _binds(stmt, name):
            out.append(stmt)
    for node in ast.walk(tree):
        if isinstance(node, ast.Global) and name in node.names:
            out.append(node)
    return out


def _binds(stmt: ast.stmt, name: str) -> bool:
    """Whether running ``stmt`` at module level can bind ``name`` there, at any depth of the
    module's own scope: ``=``, ``:=``, ``+=``, ``for``, ``with ... as``, ``except ... as``, a
    ``match`` capture, an import, ``def``, ``class`` or ``del`` (inside an ``except``, a
    ``with``, a ``for`` or a ``match`` case too: any of them may replace the literal before
    the agent reads it). Function and class bodies are their own scopes (``global``: above)."""
    todo: list[ast.AST] = [stmt]
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if node.name == name:
                return True
            todo += [n for field, value in ast.iter_fields(node) if field != "body"
                     for n in (value if isinstance(value, list) else [value]) if isinstance(n, ast.AST)]
            continue
        if isinstance(node, ast.Lambda):
            todo.append(node.args)
            continue
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load) and node.id == name:
            return True
        if isinstance(node, (ast.Import, ast.ImportFrom)) and any(
                (a.asname or a.name.split(".")[0]) == name for a in node.names):
            return True
        if isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and node.name == name:
            return True
        if isinstance(node, ast.MatchMapping) and node.rest == name:
            return True
        todo.extend(ast.iter_child_nodes(node))
    return False
