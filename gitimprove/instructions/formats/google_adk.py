"""Google ADK agents: an agent config YAML (``agent_class: LlmAgent``, ``name``, ``model``,
``instruction``), or a Python module (``agent.py``) that builds them, ``root_agent =
Agent(name=..., model=..., instruction=\"\"\"...\"\"\", tools=[...])``. State variables ``{name}`` /
``{name?}``; tools, sub_agents, model and schemas are never edited.

A Python file is read with :mod:`ast` and never imported or run. Each ``Agent(...)`` /
``LlmAgent(...)`` call with an ``instruction`` is an agent, named by its ``name=``; its
``instruction`` and ``global_instruction`` must each be one string literal, written in the call
or as a module-level constant of the file assigned once (``INSTRUCTION = \"\"\"...\"\"\"``).

Or a constant of a module of the agent's own package (``from . import prompt`` then
``instruction=prompt.ROOT_PROMPT``; ``from .prompt import ROOT_PROMPT``; a sub-package's
module, ``from .sub_agents.booking import prompt``; or the package named by its own folders,
``from travel_concierge.sub_agents.booking import prompt``): one hop, to a ``.py`` file of
the package's folder or a folder under it, never ``..`` nor another package. Such an agent
lives in that module (:class:`PromptModule`): the policy's ``formats:`` entry of the module
lists its ``constants:`` and the agent each one is for, and the agent's ``agent.py`` stays
code no edit may change. A call of a function of the file or of such a module with no
arguments (``instruction=return_instructions_root()``) is read when the function can return
nothing but one string literal (:meth:`Source.returned`); a module lists it as
``constant: return_instructions_root()``. A function passed itself (an InstructionProvider,
``instruction=provider``) is read when every ``return`` of it gives the same literal or constant
(:meth:`Source.provided`). An f-string is managed around its replacement fields, which are code
(:class:`FString`). A file's one star import (``from .prompt import *``) is followed to the
module of the package when it defines the name, and a module may be a package
(``prompt/__init__.py``): :meth:`Use.module_of`. Anything else (a concatenation, another call, a name of another package)
is refused with the reason: gitimprove edits text where it is written."""

from __future__ import annotations

import ast
import dataclasses
import posixpath
import re
from collections.abc import Container
from typing import TYPE_CHECKING, Any

from gitimprove.dataclass import dataclass
from gitimprove.errors import InvalidFileError
from gitimprove.instructions.formats.base import Adapter, Entry, ParsedFile
from gitimprove.instructions.formats.prose import EditError, Lines
from gitimprove.instructions.formats.pysource import Literal, Source, bindings
from gitimprove.instructions.formats.yamlfile import YamlAdapter, shape_error, stem, string_fields
from gitimprove.instructions.formats.yamlspan import Path_, split_lines

if TYPE_CHECKING:
    from gitimprove.instructions.policy import Constant

FIELDS = ("global_instruction", "instruction")
_AGENT_CLASSES = ("Agent", "LlmAgent")
_HINT = ("write the instruction as one string literal, in the call (instruction=\"\"\"...\"\"\"), "
         "as a constant assigned once (INSTRUCTION = \"\"\"...\"\"\") or as such a constant of a module "
         "of the package (from . import prompt), or leave this file out of `formats:` in gitimprove.yaml")
PROVIDER = "a function ADK calls for the text when the program runs (an InstructionProvider)"


class GoogleADK(YamlAdapter):
    name = "google_adk"
    summary = "Google ADK agent config or agent.py: instruction (and global_instruction); {state} variables"
    # NOTE: as ADK reads an instruction (inject_session_state): any run of braces around a
    # state name, spaces inside stripped, `?` for optional; `{{name}}` and `{ name }` are
    # variables too (ADK has no escape for a brace), and a missing one fails every run.
    # (a run of braces is tried from its first only: from each, "{" * 10,000 took seconds)
    variable_re = re.compile(r"(?<!\{)\{+\s*(artifact\.[^{}]*?|(?:(?:app|user|temp):)?(?!\d)\w+"
                             r"(?:\.(?!\d)\w+|\[[^{}\[\]]*\])*)\??\s*\}+")

    def claims(self, path: str) -> bool:
        return path.rsplit("/", 1)[-1] in ("agent.py", "root_agent.yaml", "root_agent.yml")

    def hints(self, path: str) -> bool:
        return path.endswith("_agent.py")  # `research_agent.py`, as fomc-research names its agents

    def claims_content(self, text: str) -> bool:
        """A module that makes an ``Agent(...)`` with an instruction."""
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError):
            return False
        return any(_is_agent_call(node) for node in ast.walk(tree))

    def parse(self, text: str, source: str) -> ParsedFile:
        if source.endswith(".py"):
            return PythonAgents(self, text, source)
        return super().parse(text, source)

    def entries(self, value: Any, source: str, shared: set[Path_]) -> list[Entry]:
        if not isinstance(value, dict) or not isinstance(value.get("instruction"), str) or not (
                "agent_class" in value or "model" in value or "name" in value):
            workflow = value.get("agent_class") if isinstance(value, dict) else None
            raise shape_error(source, self.name, "expected an agent with `name`, `model` and `instruction`" + (
                f"; a {workflow} runs its sub_agents and has no instruction of its own"
                if workflow in _WORKFLOW_AGENTS else ""))
        key = value.get("name") if isinstance(value.get("name"), str) else stem(source)
        return [Entry(str(key), (), tuple(string_fields(source, (), value, list(FIELDS))))]

    def render(self, data: Any) -> str:
        parts = [str(data[k]) for k in FIELDS if isinstance(data.get(k), str)]
        return "\n\n".join(parts)

    def with_constants(self, constants: tuple[Constant, ...]) -> Adapter:
        return PromptModules(constants)


class PromptModules(GoogleADK):
    """The prompt modules whose constants the policy lists: each constant an agent's text."""

    def __init__(self, constants: tuple[Constant, ...]) -> None:
        self.constants = constants

    def claims(self, path: str) -> bool:
        return False

    def parse(self, text: str, source: str) -> ParsedFile:
        if not source.endswith(".py"):
            raise InvalidFileError([f"{source}: `constants:` name constants of a Python module (.py)"])
        return PromptModule(self, text, source, self.constants)


@dataclass(frozen=True)
class Use:
    """An agent of an ``agent.py`` whose text is a constant of another module of its package."""

    key: str
    field: str
    path: str  # the module's file, in the repository
    constant: str
    line: int
    also: tuple[str, ...] = ()  # the other file the module may be: `prompt/__init__.py`
    star: bool = False  # the name comes from `from .prompt import *`

    def called(self) -> Use:
        """The use of a function of the module, called: its text is what it returns."""
        return dataclasses.replace(self, constant=self.constant + "()")

    def module_of(self, files: dict[str, bytes]) -> str:
        """The file of the repository that holds this agent's constant; :class:`InvalidFileError`
        with the reason when that is not exactly one file."""
        problem = self.ambiguous(files)
        if problem is not None:
            raise InvalidFileError([problem], hint=_HINT)
        path = next((p for p in (self.path, *self.also) if p in files), self.path)
        if not self.star or path not in files:
            return path
        name = self.constant.removesuffix("()")
        try:
            tree = ast.parse(files[path].decode("utf-8", "replace"))
        except (SyntaxError, ValueError):
            raise InvalidFileError([f"{path}, which the agent.py star-imports, is not valid Python"]) from None
        if any(isinstance(n, ast.ImportFrom) and n.names[0].name == "*" for n in ast.walk(tree)):
            raise InvalidFileError([f"`{name}` comes from a star import (`import *`) of {path}, which star-imports "
                                    "another module in turn; gitimprove follows one hop"], hint=_HINT)
        if not (bindings(tree, name) and _exports(tree, name)):
            raise InvalidFileError([f"`{name}` comes from a star import (`import *`) of {path}, which does not "
                                    "define it" + (" in its `__all__`" if bindings(tree, name) else "")],
                                   hint=_HINT)
        return path

    def ambiguous(self, paths: Container[str]) -> str | None:
        """Why the module is not one file of ``paths``: both ``prompt.py`` and ``prompt/__init__.py``."""
        if self.path in paths and self.also[0] in paths:
            return f"both {self.path} and {self.also[0]} exist; gitimprove does not guess which one the import reads"
        return None


def _exports(tree: ast.Module, name: str) -> bool:
    """Whether ``from module import *`` binds ``name``: listed in ``__all__`` (a literal list or
    tuple), or, without one, not starting with ``_``."""
    listed = [s for s in tree.body if isinstance(s, (ast.Assign, ast.AnnAssign, ast.AugAssign))
              and any(isinstance(t, ast.Name) and t.id == "__all__"
                      for t in (s.targets if isinstance(s, ast.Assign) else [s.target]))]
    if not listed:
        return not name.startswith("_")
    value = listed[0].value
    if len(listed) > 1 or not isinstance(value, (ast.List, ast.Tuple)):
        return False  # built when the program runs: not followed
    return any(isinstance(e, ast.Constant) and e.value == name for e in value.elts)


def _forms(path: str) -> tuple[str, ...]:
    """The files a module may be: ``prompt.py``, or the package ``prompt/__init__.py``."""
    return (path, path.removesuffix(".py") + "/__init__.py")


def _is_agent_call(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    called = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
    return called in _AGENT_CLASSES and any(k.arg in FIELDS for k in node.keywords)


def module_file(source: str, node: ast.ImportFrom, name: str | None) -> str | None:
    """The repository path of the module an import in ``source`` reads (``name``: a module the
    import names, ``from . import prompt``), or None when it is not a module of the file's own
    package: ``..``, a package elsewhere, or an absolute name whose folders are not the file's."""
    folder = posixpath.dirname(source)
    parts = (node.module or "").split(".") if node.module else []
    if name is not None:
        parts.append(name)
    if not parts or any(not p.isidentifier() for p in parts):
        return None
    if node.level == 1:
        rest = parts
    elif node.level == 0:
        # NOTE: `from travel_concierge.sub_agents.booking import prompt` in
        # travel_concierge/sub_agents/booking/agent.py names its own folder: the folders of the
        # file's path, read from the top package down, must spell the module's leading names.
        folders = folder.split("/") if folder else []
        for k in range(len(folders), 0, -1):
            if parts[:k] == folders[-k:]:
                rest = parts[k:]
                break
        else:
            return None
        if not rest:
            return None
    else:
        return None
    return posixpath.join(folder, *rest[:-1], rest[-1] + ".py")


class _Literals(ParsedFile):
    """A Python file whose agents' texts are string literals of it."""

    literals: dict[Path_, Literal]
    shared: set[Path_]

    def _share(self) -> None:
        uses: dict[int, int] = {}
        for literal in self.literals.values():
            uses[literal.start] = uses.get(literal.start, 0) + 1
        self.shared = {p for p, lit in self.literals.items() if uses[lit.start] > 1}

    def lines(self, path: Path_, first_id: str) -> Lines:
        return self.literals[path].lines(first_id)

    def value(self, path: Path_) -> str:
        return self.literals[path].value

    def as_written(self, path: Path_, text: str, before: str = "") -> str:
        return self.literals[path].as_written(text, before)

    def variables(self, path: Path_, buf: Lines | None = None) -> set[str]:
        # NOTE: an f-string's fields are code Python fills before ADK reads the text: a text
        # `{date_today}` beside the field `{date_today}` is a state variable all the same
        literal = self.literals[path]
        try:
            text = literal.text(None if buf is None else "".join(buf.raw))
        except EditError:  # an edit that drops a field: refused when it is written
            text = "".join(buf.raw) if buf is not None else literal.value
        return self.adapter.variables_in(text)

    def write(self, buffers: dict[Path_, Lines]) -> str:
        edits: dict[int, tuple[Literal, str]] = {}
        for path, buf in buffers.items():
            if not buf.modified:
                continue
            literal = self.literals[path]
            if path in self.shared:
                raise EditError(f"{self.source}: the {path[1]} of agent {path[0]!r} is a constant other "
                                "agents use too; an edit would change every one of them",
                                hint="give each agent its own text, or edit by hand")
            edits[literal.start] = (literal, literal.source("".join(buf.raw)))
        out = self.text
        for _, (literal, written) in sorted(edits.items(), reverse=True):
            out = out[: literal.start] + written + out[literal.end:]
        return out

    def fixed(self) -> Any:
        """The file's code with every instruction literal masked (an f-string's fields are
        code): no edit may change it."""
        out, at = [], 0
        for literal in sorted({lit.start: lit for lit in self.literals.values()}.values(), key=lambda x: x.start):
            out.append(self.text[at:literal.start] + literal.code())
            at = literal.end
        out.append(self.text[at:])
        return {"python code outside the instruction strings": "\x00".join(out)}

    def _lines_of(self, start: int, end: int) -> str:
        lines = split_lines(self.text)
        first, last = self.text.count("\n", 0, start), self.text.count("\n", 0, end)
        return "".join(lines[first:last + 1])


class PythonAgents(_Literals):
    """The agents of an ADK Python module, each instruction string a literal of the file, or
    a constant of another module of its package (:attr:`uses`; that module holds the agent)."""

    def __init__(self, adapter: Adapter, text: str, source: str) -> None:
        self.adapter, self.text, self.source = adapter, text, source
        src = Source(text, source)
        self.src = src
        self.literals = {}
        self.calls: dict[str, tuple[int, int]] = {}
        self.entries = []
        self.uses: list[Use] = []
        targets = {id(s.value): s.targets[0].id for s in ast.walk(src.tree)
                   if isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name)}
        found = [n for n in ast.walk(src.tree) if isinstance(n, ast.Call) and _is_agent_call(n)]
        named: set[str] = set()
        for call in sorted(found, key=lambda n: (n.lineno, n.col_offset)):
            kwargs = {k.arg: k.value for k in call.keywords if k.arg is not None}
            where = f"{source}:{call.lineno}"
            name = kwargs.get("name")
            key = (name.value if isinstance(name, ast.Constant) and isinstance(name.value, str)
                   else targets.get(id(call)))
            if not key:
                raise InvalidFileError([f"{where}: the agent has no `name=\"...\"` string"],
                                       hint="give the agent a name=\"...\" string literal")
            if key in named:
                raise InvalidFileError([f"{where}: two agents are named {key!r}"],
                                       hint="give each agent its own name=\"...\"")
            named.add(key)
            fields: list[tuple[str, Path_]] = []
            uses: list[Use] = []
            for field_name in FIELDS:
                if field_name not in kwargs:
                    continue
                what = f"{where}: agent {key!r}: `{field_name}`"
                got = self._resolve(src, kwargs[field_name], what)
                if isinstance(got, Use):
                    uses.append(dataclasses.replace(got, key=key, field=field_name, line=call.lineno))
                    continue
                path: Path_ = (key, field_name)
                self.literals[path] = got
                fields.append((field_name.replace("_", "-"), path))
            if fields and uses:
                raise InvalidFileError([f"{where}: agent {key!r} has its `{uses[0].field}` in {uses[0].path} "
                                        "and other text in this file; gitimprove keeps an agent in one file"],
                                       hint=_HINT)
            self.uses += uses
            if fields:
                self.calls[key] = src.span(call)
                self.entries.append(Entry(key, (key,), tuple(fields)))
        if not self.entries and not self.uses:
            # NOTE: an agent.py of another framework (a class of its own, LangChain) is common:
            # "looks like google_adk" alone sent a user looking for an ADK call that is not there.
            raise shape_error(source, adapter.name, "expected an `Agent(...)` or `LlmAgent(...)` call with "
                              "an `instruction=`" + _why_no_agent(src.tree))
        self._share()

    def _resolve(self, src: Source, node: ast.expr, what: str, inner: bool = False) -> Literal | Use:
        """The literal ``node`` is, or (module file, constant) for a constant of a module of the
        package; :class:`InvalidFileError` with the reason for anything else. A function passed
        itself (an InstructionProvider) is read for what it returns (``inner``: in it)."""
        written = node
        called = isinstance(node, ast.Call) and not node.args and not node.keywords
        if isinstance(node, ast.Call) and called:  # `return_instructions_root()`: its literal
            node = node.func
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            got = _from_module(src, node.value.id, node.attr, what)
            if got is not None:
                return got.called() if called else got
        if isinstance(node, ast.Name):
            bound = bindings(src.tree, node.id)
            star = _star_after(src.tree, bound)
            if star is not None:
                raise InvalidFileError([f"{what} is `{node.id}`, which {star} may bind again"], hint=_HINT)
            if len(bound) == 1 and isinstance(bound[0], (ast.FunctionDef, ast.AsyncFunctionDef)):
                if not called and not inner:
                    returned = src.provided(bound[0])
                    if isinstance(returned, str):
                        raise InvalidFileError([f"{what} is `{node.id}`, {PROVIDER}: {returned}"], hint=_HINT)
                    return self._resolve(src, returned, f"{what} is `{node.id}`, {PROVIDER}, whose returned value", True)
                found = src.returned(bound[0]) if called else PROVIDER
                if isinstance(found, str):
                    raise InvalidFileError([f"{what} is `{ast.unparse(written)}`, {found}"], hint=_HINT)
                return found
            if len(bound) == 1 and isinstance(bound[0], (ast.Assign, ast.AnnAssign)) \
                    and bound[0].value is not None and not called:
                node = bound[0].value
            elif (got := _from_module(src, node.id, None, what)) is not None:
                return got.called() if called else got
            elif len(bound) > 1:
                raise InvalidFileError([f"{what} is `{node.id}`, which the file assigns more than once"],
                                       hint=_HINT)
            elif not bound and (starred := _star(src, node.id, what)) is not None:
                return starred.called() if called else starred
        found = src.literal(written if called else node)
        if isinstance(found, str):
            raise InvalidFileError([f"{what} is {found}; gitimprove edits only text written as one "
                                    "string literal"], hint=_HINT)
        return found

    def data(self, entry: Entry) -> Any:
        start, end = self.calls[entry.key]
        out: dict[str, Any] = {"call": self.text[start:end]}
        for _, path in entry.fields:
            out[str(path[1])] = self.literals[path].as_read()
        return out

    def excerpt(self, entry: Entry) -> str:
        if len(self.entries) == 1:
            return self.text
        return self._lines_of(*self.calls[entry.key])


def _star_after(tree: ast.Module, bound: list[ast.stmt]) -> str | None:
    """A star import of the module after the last statement that binds a name (``from .x import
    *`` on line N), which may bind it again; None when there is none."""
    later = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.names[0].name == "*"
             and bound and n.lineno > bound[-1].lineno]
    return f"`from {'.' * later[0].level}{later[0].module or ''} import *` on line {later[0].lineno}" if later else None


def _star(src: Source, name: str, what: str) -> Use | None:
    """The constant ``name``, bound nowhere in the file, of the module the file star-imports
    (``from .prompt import *``); None when it star-imports none. With two star imports, which
    one binds the name depends on both modules, which may change without this file changing:
    refused. :meth:`Use.module_of` checks the module defines the name."""
    stars = [n for n in ast.walk(src.tree) if isinstance(n, ast.ImportFrom) and n.names[0].name == "*"]
    if not stars:
        return None
    said = [f"`from {'.' * n.level}{n.module or ''} import *`" for n in stars]
    if len(stars) > 1:
        raise InvalidFileError([f"{what} is `{name}`, which any of {len(stars)} star imports may bind "
                                f"({', '.join(said)}); gitimprove follows a star import only when it is the "
                                "file's one star import"], hint=f"import the name itself (from .module import "
                                                                f"{name}), or {_HINT}")
    module = module_file(src.source, stars[0], None) if stars[0].module else None
    if module is None:
        raise InvalidFileError([f"{what} is `{name}`, which may come from {said[0]}, not a module of this "
                                "package"], hint=_HINT)
    forms = _forms(module)
    return Use("", "", forms[0], name, 0, forms[1:], star=True)


def _from_module(src: Source, name: str, attr: str | None, what: str) -> Use | None:
    """The module file and constant when ``name`` (``attr`` of it: ``prompt.X``) is bound once, by a
    ``from ... import`` of a module of the package: ``from . import prompt`` and ``prompt.X``, or
    ``from .prompt import X`` and ``X``. None when ``name`` is not bound by such an import."""
    bound = bindings(src.tree, name)
    if len(bound) != 1 or not isinstance(bound[0], ast.ImportFrom):
        return None
    stmt = bound[0]
    imported = next(a for a in stmt.names if (a.asname or a.name) == name)
    module_name = imported.name if attr is not None else None
    module = module_file(src.source, stmt, module_name) if attr is not None or stmt.module else None
    if module is None:
        written = f"{name}.{attr}" if attr is not None else name
        dotted = "." * stmt.level + ".".join(p for p in (stmt.module, module_name) if p)
        raise InvalidFileError([f"{what} is `{written}`, imported from `{dotted}`, which is not a module of "
                                "this package (gitimprove reads `.module` and the package's own modules, "
                                "never `..` or another package)"], hint=_HINT)
    forms = _forms(module)
    return Use("", "", forms[0], attr if attr is not None else imported.name, 0, forms[1:])


def _provided(src: Source, func: ast.stmt) -> Literal | str:
    """The literal an InstructionProvider of a prompt module returns: written in its
    ``return``, assigned once in it, or a constant of the module; or why it is not one."""
    returned = src.provided(func)
    if isinstance(returned, str):
        return f"{PROVIDER}: {returned}"
    if isinstance(returned, ast.Name):
        bound = bindings(src.tree, returned.id)
        if len(bound) != 1 or not isinstance(bound[0], (ast.Assign, ast.AnnAssign)) or bound[0].value is None:
            return f"{PROVIDER}, which returns `{returned.id}`, not a string constant of this file assigned once"
        returned = bound[0].value
    found = src.literal(returned)
    return found if isinstance(found, Literal) else f"{PROVIDER}, which returns {found}"


class PromptModule(_Literals):
    """A module of an ADK package whose constants hold agents' texts (``prompt.py``): one
    agent per name the policy's ``constants:`` give, each constant a string literal assigned
    once at module level. Everything else in the file is code no edit may change."""

    def __init__(self, adapter: Adapter, text: str, source: str, constants: tuple[Constant, ...]) -> None:
        self.adapter, self.text, self.source = adapter, text, source
        self.constants = constants
        src = Source(text, source)
        self.literals = {}
        self.assigned: dict[str, tuple[int, int]] = {}
        fields: dict[str, list[tuple[str, Path_]]] = {}
        for c in constants:
            called = c.constant.endswith("()")  # a function returning the text
            bound = bindings(src.tree, c.constant.removesuffix("()"))
            what = f"{source}: `{c.constant}` (the {c.field} of agent {c.agent!r})"
            if not bound:
                raise InvalidFileError([f"{what} is not defined in this file"],
                                       hint="map the constant the agent uses in gitimprove.yaml's `formats:`")
            stmt = bound[0]
            found: Literal | str
            star = _star_after(src.tree, bound)
            if star is not None:
                raise InvalidFileError([f"{what} may be bound again by {star}"], hint=_HINT)
            if len(bound) == 1 and isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found = src.returned(stmt) if called else _provided(src, stmt)
            elif len(bound) > 1 or called or not isinstance(stmt, (ast.Assign, ast.AnnAssign)) \
                    or stmt.value is None:
                raise InvalidFileError([f"{what} is not {'a function' if called else 'a constant'} "
                                        "assigned once"], hint=_HINT)
            else:
                found = src.literal(stmt.value)
            if isinstance(found, str):
                raise InvalidFileError([f"{source}:{stmt.lineno}: `{c.constant}` (the {c.field} of agent "
                                        f"{c.agent!r}) is {found}; gitimprove edits only text written as "
                                        "one string literal"], hint=_HINT)
            path: Path_ = (c.agent, c.field)
            if path in self.literals:
                raise InvalidFileError([f"{source}: two constants are listed for the {c.field} of agent "
                                        f"{c.agent!r}"], hint="list one constant per agent and field")
            self.literals[path] = found
            self.assigned[c.constant] = src.span(stmt)
            fields.setdefault(c.agent, []).append((c.field.replace("_", "-"), path))
        self.entries = [Entry(key, (key,), tuple(sorted(f, key=lambda x: FIELDS.index(str(x[1][1])))))
                        for key, f in fields.items()]
        self._share()

    def data(self, entry: Entry) -> Any:
        out: dict[str, Any] = {}
        for c in self.constants:
            if c.agent == entry.key:
                start, end = self.assigned[c.constant]
                out[c.field] = self.literals[(c.agent, c.field)].as_read()
                out[f"{c.field} constant"] = self.text[start:end]  # the assignment, as written
        return out

    def excerpt(self, entry: Entry) -> str:
        if len(self.entries) == 1:
            return self.text
        spans = [self.assigned[c.constant] for c in self.constants if c.agent == entry.key]
        return "".join(self._lines_of(*span) for span in sorted(spans))


# ADK's workflow agents: they run the agents they are given, with no instruction of their own.
_WORKFLOW_AGENTS = frozenset({"SequentialAgent", "ParallelAgent", "LoopAgent"})


def _why_no_agent(tree: ast.Module) -> str:
    """Why a module makes no agent with an instruction, when it says: another framework's
    ``agent.py``, or ADK workflow agents only (a pipeline of agents defined elsewhere)."""
    if not _imports_adk(tree):
        return "; it imports nothing from google.adk"
    workflows = sorted({called for n in ast.walk(tree) if isinstance(n, ast.Call)
                        and (called := ast.unparse(n.func).rsplit(".", 1)[-1]) in _WORKFLOW_AGENTS})
    if not workflows:
        return ""
    listed = " and ".join(f"`{w}(...)`" for w in workflows)
    return f"; its {listed} " + ("runs the agents it is given and has no instruction of its own"
                                  if len(workflows) == 1 else
                                  "run the agents they are given and have no instruction of their own")


def _imports_adk(tree: ast.Module) -> bool:
    """Whether the module imports anything from ``google.adk``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("google.adk"):
            return True
        if isinstance(node, ast.Import) and any(a.name.startswith("google.adk") for a in node.names):
            return True
    return False
