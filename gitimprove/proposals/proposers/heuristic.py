"""The offline proposer: deterministic, no key, no model, and honest about it.

It edits the file as a careful person would, with the shared checks of
:mod:`gitimprove.proposals.rules`:

- only patterns about the answers (``Pattern.fixable``) with enough support (distinct users
  and runs, from the policy) become rules;
- a rule is the theme's stock remedy, a specific and testable rule (:data:`REMEDIES`), or the
  wording that enough distinct users share; a lone user's phrasing is never copied, and a theme
  with neither is left out rather than turned into something vague;
- a rule goes to the section the pattern concerns, or one about the answers, or the prompt's
  general text or rules; never to a section about something else (an AGENTS.md's "Module
  responsibilities"): a file with no such section gets one, "Answers";
- a stock rule never prescribes a form the file states otherwise (its own citation format),
  nor asks for sources the agent is not meant to find: a file that gives the agent what to
  answer from (a RAG prompt's "the provided context") gets the rule to keep to it instead;
- a rule the file already has is not added again: where the feedback shows the existing rule
  is not enough, it is tightened (``update_rule``); a second "End with ..." extends the first;
  anything else that would contradict the file is left out, and the review says so;
- a rule an open proposal already adds, or a rejected one added, is not proposed again;
- a decision pattern (``tool_use``) becomes a tool-usage guideline in the ``tools`` section
  (one rule per guideline, prefixed by the tool's name): the tool's guideline is tightened
  when it has one, else added (with the section, when the file has none); one edit per tool.
  A pattern about the answers whose complaints are mostly those that name what a tool did is
  the same complaint read from its words: it is cited by that tool's guideline, whose generic
  clause gives way to the wording its users share ("Use the user's bookings first and only
  search for what they do not cover"), rather than made a second rule of the same intent.

Commits name ``gitimprove-heuristic`` as their author, and the rationale says what it is."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from itertools import chain

from gitimprove.dataclass import dataclass, field
from gitimprove.instructions.agentfile import (
    TOOLS_SECTION,
    TOOLS_TITLE,
    Section,
    guideline_tool,
    tool_guidelines,
    tools_section,
)
from gitimprove.instructions.formats.prose import names_case_or_steps
from gitimprove.instructions.policy import ProposerSettings
from gitimprove.patterns.decisions import GUIDELINES
from gitimprove.patterns.lexicon import concept
from gitimprove.patterns.model import Pattern
from gitimprove.patterns.text import reads_as_english, script, tokens
from gitimprove.proposals.operations import AddRule, AddSection, Draft, Operation, UpdateRule
from gitimprove.proposals.proposers.base import (
    DraftCheck,
    LeftOut,
    NothingNew,
    ProposalRequest,
    ProposerError,
    ProposerResult,
    Usage,
    left_out_summary,
)
from gitimprove.proposals.rules import (
    PriorRule,
    Statement,
    about_code,
    contradiction,
    duplicates,
    example_sections,
    facts,
    file_statements,
    own_text,
    pending_match,
    rejected_match,
    restates,
    steering,
    vague,
)
from gitimprove.proposals.support import Support, consistent_number
from gitimprove.text import rule_number, shorten
from gitimprove.validate import unclosed_block

# Where a rule about the answers goes: a section about them (its words), else the prompt's
# own general text or rules; never a section about something else ("Module responsibilities",
# "Testing", "Code style" in a coding agent's AGENTS.md), where a new "Answers" section takes it.
_STYLE_HINTS = ("style", "tone", "format", "voice", "writing", "process", "method", "answer", "response",
                "repl", "output", "communicat", "talk", "speak", "convers")
_GENERAL_HINTS = ("role", "rule", "guideline", "instruction", "behavio", "general", "principle", "persona")
ANSWERS_SECTION = "answers"
ANSWERS_TITLE = "Answers"  # its Markdown heading slugs to the same id
MAX_QUOTES = 3
HARD_LIMIT = "treat it as a hard limit and cut detail rather than go over it"


@dataclass(frozen=True)
class Remedy:
    """What a careful editor writes for a theme: a specific rule, named for a title."""

    aspect: str                 # "length", "a call to action": names the change in a summary
    rule: str | None            # None: the theme has no specific, testable stock rule
    ending: str | None = None   # for an "End with ..." rule: what to end with
    # the rule for a file that already says how (its own citation format): ``rule`` less the
    # form it prescribes, which would contradict the file's
    own_form: str | None = None
    # the rule for a file that gives the agent what to answer from ("Answer the question using
    # the provided context"): its sources are given, and what users ask is that it keep to them
    given: str | None = None
    # ... and the theme whose rule that one is too: one rule is planned for both
    given_theme: str | None = None
    # the rule, with its aspect, for an agent nobody reports a problem to (an assistant, a
    # writer, a companion: its file names no customers, tickets or complaints, see
    # _serves_customers): users who call its answers robotic or cold ask for another voice
    no_customers: tuple[str, str] | None = None


REMEDIES: dict[str, Remedy] = {
    "length": Remedy("length", "Cut filler, repetition and background the reader did not ask for."),
    "depth": Remedy("depth", "Cover every part of the question, with one concrete detail or example "
                             "for each."),
    "jargon": Remedy("plain language", "Use plain language: explain each technical term or acronym "
                                       "in a few words the first time it appears."),
    "benefits": Remedy("customer benefits", "For each feature you mention, say what it does for the "
                                            "customer."),
    "call_to_action": Remedy("a call to action", "End with a call to action that tells the reader "
                                                 "what to do next.",
                             ending="a call to action that tells the reader what to do next"),
    "cliches": Remedy("clichés", "Avoid clichés and superlatives; back every claim with a concrete "
                                 "fact."),
    # NOTE: not "apologise first": an apology for everything is sycophancy, not empathy.
    "tone": Remedy("acknowledging the problem", "When the user reports a problem, acknowledge it "
                                                "in one sentence before the answer.",
                   no_customers=("a natural voice", "Write the way a person talks: warm and "
                                                    "conversational, in plain words and "
                                                    "sentences of varied length.")),
    "brand_voice": Remedy("brand voice", None),
    "next_steps": Remedy("next steps", "End every reply with the next step, when it will happen, and "
                                       "the ticket or reference number.",
                         ending="the next step, when it will happen, and the ticket or reference "
                                "number"),
    "repeat_questions": Remedy("repeated questions", "Do not ask for information the user has "
                                                     "already given in the conversation."),
    "escalation": Remedy("handing over to a human", "When the customer asks for a person, or "
                                                    "the case needs an approval you cannot give, "
                                                    "hand it to a human and say who will follow "
                                                    "up and by when."),
    "citations": Remedy("source citations", "Cite a source (publisher, year and link) for each key "
                                            "claim.",
                        own_form="Cite a source for each key claim, in the citation format these "
                                 "instructions give.",
                        given="Base each claim on the sources you are given and say which part "
                              "supports it; when they do not cover something, say so instead of "
                              "answering from memory.",
                        # for such a file, citing its sources is keeping to them
                        given_theme="grounding"),
    "summary_first": Remedy("a summary up front", "Start with a summary of the answer in two or three "
                                                  "sentences."),
    "formatting": Remedy("bullet points", "Put lists of three or more features or options in bullet "
                                          "points."),
    "structure": Remedy("headings", "Organise answers longer than three paragraphs under short "
                                    "headings."),
    # NOTE: accuracy complaints are about invented facts as often as about wrong figures and
    # sums (critiques of a tutor's or an analyst's answers): the rule names all three.
    "accuracy": Remedy("accuracy", "Check every fact, figure and calculation before you state it; "
                                   "leave out anything you cannot check."),
    # NOTE: a summary's or a retrieval answer's critics say what the material does not: the
    # remedy names the material the agent was given, whatever it is called in the file
    "grounding": Remedy("keeping to the source", "State only what the material you were given "
                                                 "says; leave out any claim, name, number or "
                                                 "date it does not support."),
    "reasoning": Remedy("reasoning", "Work through the problem one step at a time and check that "
                                     "each step follows from the ones before it before you give "
                                     "the answer."),
    "resolution": Remedy("resolution", None),
    "relevance": Remedy("answering the question", "Answer the question asked in the first sentence, "
                                                  "before any background."),
    # NOTE: a chatbot whose users say it answers from a script, whatever they write
    "canned": Remedy("replies to what was said", "Reply to what the user just said, naming its "
                                                 "specifics, in your own words; never answer "
                                                 "with a stock phrase or a fixed script."),
    "truncated": Remedy("finished answers", "Finish every answer; when the whole of it will not fit "
                                            "in one reply, give a complete shorter version and "
                                            "offer the rest."),
    "memory": Remedy("the conversation so far", "Keep to what the user said earlier in the "
                                                "conversation (names, preferences, facts) and do "
                                                "not contradict it."),
    # NOTE: nothing here loosens a protected section: the rule is bounded by the instructions.
    "refusal": Remedy("refusals and lectures", "Help with every request these instructions allow, "
                                               "without moral commentary; when you must decline, "
                                               "say why in one sentence and offer what you can do."),
    # NOTE: the answer first; a user who is wrong is told so (the sycophancy users complain of)
    "flattery": Remedy("no flattery", "Do not praise the question or the user; start with the "
                                      "answer, and say plainly when the user is wrong."),
    "follow_up": Remedy("follow-up questions", "End with the answer itself; ask a follow-up "
                                               "question only when you cannot go on without "
                                               "the user's reply."),
    "repetition": Remedy("repetition", "Say each point once: do not repeat what an earlier "
                                       "sentence or reply already said."),
    # NOTE: the model cannot learn what happened after its training; it can say so.
    "outdated": Remedy("where its knowledge ends", "When a question depends on recent events or "
                                                  "facts that may have changed, say that your "
                                                  "knowledge may be out of date and when it "
                                                  "ends, instead of answering as if it were "
                                                  "current."),
    # NOTE: users of coding agents complain that the instruction file itself is ignored
    # ("keeps ignoring CLAUDE.md"), users of assistants that their request is.
    "instructions": Remedy("following instructions", "Follow every explicit instruction, in these "
                                                     "instructions and in the user's request "
                                                     "(format, length, language, what to leave "
                                                     "out); when two conflict, ask which comes "
                                                     "first."),
}


def _support_of(request: ProposalRequest, pattern: Pattern) -> Support | None:
    """The support of ``pattern``; of a view of one of its themes (see :func:`_views`), with
    that theme's as the support of its theme."""
    found = request.support.get(pattern.id)
    if found is not None and pattern.theme in found.themes and pattern.theme_ids:
        return replace(found, themed=found.themes[pattern.theme])
    return found


def _views(request: ProposalRequest, pattern: Pattern) -> list[Pattern]:
    """The pattern as the proposer reads it: itself, or, for one about no one theme whose
    items speak of several (``Support.themes``, see :func:`.support.themes_of`), one view per
    theme, with it as its theme read from some of its items: the rule from it rests on them.
    Most first."""
    found = request.support.get(pattern.id)
    if concept_of(pattern) is not None or found is None or not found.themes:
        return [pattern]
    return [pattern.model_copy(update={"theme": theme, "theme_ids": list(said.ids)})
            for theme, said in found.themes.items()]


def concept_of(pattern: Pattern) -> str | None:
    """The lexicon theme a pattern is about, if any: the one it is named after, else the one
    most of its items speak of (``Pattern.theme``)."""
    if pattern.key.startswith("concept:"):
        return pattern.key.removeprefix("concept:")
    return pattern.theme


@dataclass
class _Planned:
    """One operation being planned, with the patterns behind it."""

    op: Operation
    action: str                  # "add", "tighten", "extend"
    aspect: str
    theme: str                   # concept key, or the rule text for a wording
    patterns: list[Pattern] = field(default_factory=list)
    why: str = ""                # the editor's reason beyond the evidence
    target: Statement | None = None
    generic: str | None = None   # a tool guideline's clause for any tool, users' words may replace
    themed: bool = False         # a theme's stock remedy: it rests on the items that speak of it


_FIRST_PERSON = re.compile(r"\b(my|mine|myself|me)\b", re.I)
_SUBJECT_I = re.compile(r"\bi(?:'(?:m|ve|d|ll))?\b", re.I)
_AS_USER = {"my": "the user's", "mine": "the user's", "myself": "the user", "me": "the user"}


def of_the_user(text: str) -> str:
    """Users' own words as a rule for the agent: "use my bookings first" speaks of the user,
    and in the agent's instructions "my" would be the agent's own. "my", "me", "mine" and
    "myself" become "the user's" and "the user"; a sentence with "I" as its subject is left
    as it is (its verb would have to change too)."""
    if _SUBJECT_I.search(text):
        return text

    def swap(m: re.Match[str]) -> str:
        said = _AS_USER[m.group(1).lower()]
        return said[0].upper() + said[1:] if m.start() == 0 else said

    return _FIRST_PERSON.sub(swap, text)


def _sentence(text: str) -> str:
    text = " ".join(text.split()).strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def _gist(text: str, words: int = 5) -> str:
    """The opening words of a rule, quoted, for a title: "'state the stance (buy, hold…'"; it
    stops before a word with a digit (a title names the change, not its figures)."""
    kept: list[str] = []
    for word in _sentence(text).rstrip(".!?").split():
        if len(kept) == words or any(c.isdigit() for c in word):
            break
        kept.append(word)
    if not kept:
        return ""
    gist = " ".join(kept)
    cut = len(kept) < len(_sentence(text).rstrip(".!?").split())
    return f"'{gist[0].lower()}{gist[1:]}{'…' if cut else ''}'"


def _quotes(patterns: list[Pattern], n: int = MAX_QUOTES) -> str:
    seen: list[str] = []
    for p in patterns:
        for q in p.quotes:
            q = " ".join(q.split())
            q = q if len(q) <= 90 else q[:89].rstrip() + "…"
            if q not in seen:
                seen.append(q)
    return ", ".join(f'"{q}"' for q in seen[:n])


class HeuristicProposer:
    """Rules from patterns' remedies and users' shared words, deterministically."""

    name = "heuristic"
    model = "heuristic"
    reads_every_pattern = True  # it sends no prompt: see Proposer

    def __init__(self, settings: ProposerSettings | None = None) -> None:
        self.settings = settings or ProposerSettings()

    def _section_for(self, request: ProposalRequest, pattern: Pattern) -> str | None:
        """The section a rule about the answers goes to: the pattern's, else one about the
        answers, else the prompt's untitled text or a section of general rules (of each, one
        with rules first); else :data:`ANSWERS_SECTION`, not yet in the file (None: every
        section is protected)."""
        examples = example_sections(request.file)
        editable = [s for s in request.file.sections
                    if s.id not in request.protected and s.id not in examples]
        if not editable:
            return None

        def about(section: Section, hints: tuple[str, ...]) -> bool:
            return (any(h in f"{section.id} {section.title or ''}".lower() for h in hints)
                    and not _not_every_answer(section))

        # NOTE: analysis names a pattern's section by shared words: "keep answers under 100
        # words" shares "keep" with "`cart.py` keeps the cart" under "Module responsibilities"
        if any(s.id == pattern.section and not _not_every_answer(s) for s in editable):
            return pattern.section

        answers = [s for s in editable if about(s, _STYLE_HINTS)]
        general = [s for s in editable if (s.title is None and not _not_every_answer(s))
                   or (s.rules and about(s, _GENERAL_HINTS))]
        theme = concept_of(pattern)
        # of those about the answers, one with a rule on the theme already, so that a second
        # rule on it is seen beside the first (a code reviewer's "Your Review Process" says to
        # check facts; under its "Output Format", the accuracy rule would say it again). Not
        # one of general rules: a theme read from a rule's words alone is often no theme
        # ("Descriptive error messages" is no rule on accuracy)
        home = next((s for s in answers if theme is not None
                     and any(facts(rule).concept == theme for rule in s.rules or ())), None)
        if home is not None:
            return home.id
        found = [s for s in answers if s.rules] or answers or [s for s in general if s.rules] or general
        if found:
            return found[0].id
        return None if request.file.section(ANSWERS_SECTION) is not None else ANSWERS_SECTION

    def _support(self, request: ProposalRequest, pattern: Pattern) -> Support | None:
        return _support_of(request, pattern)

    def _candidate(self, request: ProposalRequest, pattern: Pattern,
                   statements: Sequence[Statement]) -> tuple[str | None, str, str, bool]:
        """(rule text, aspect, where it came from, whether it is the theme's stock remedy), or
        (None, aspect, why not, False); ``statements``: the file's (:func:`file_statements`)."""
        theme = concept_of(pattern)
        remedy = REMEDIES.get(theme or "")
        aspect = remedy.aspect if remedy else "a rule users asked for"
        support = self._support(request, pattern)
        shared = support.shared_wording(request.wording_min_users) if support else None
        steers = steering(shared.text) if shared is not None else None
        if shared is not None and steers is None and not vague(shared.text):
            # The title names what the rule says, not the theme it was filed under: users'
            # "Say the date of every figure" under 'no sources or citations' is about dates.
            said = of_the_user(shared.text)
            return (_sentence(said), _gist(said) or aspect,
                    f"the wording {shared.users} users share", False)
        if remedy is not None and remedy.rule is not None:
            own = _states_form(statements) if remedy.own_form else None
            if remedy.own_form and own is not None:
                return (remedy.own_form, aspect, "the theme's stock remedy, less its citation format: "
                        f"{own.where()} gives the file's own ({own.text!r})", True)
            given = _gives_sources(statements) if remedy.given else None
            if given is not None:
                return (remedy.given, aspect, "the theme's stock remedy for a file that gives the "
                        f"agent its sources: {given.where()} ({given.text!r})", True)
            if remedy.no_customers is not None and _serves_customers(statements) is None:
                voice, rule = remedy.no_customers
                return (rule, voice, "the theme's stock remedy for an agent nobody reports a "
                        "problem to: its instructions name no customers, tickets or complaints",
                        True)
            return remedy.rule, aspect, "the theme's stock remedy", True
        if steers is not None:
            return None, aspect, (f"the wording users share steers the agent ({steers!r}: an "
                                  "address, or an order about its instructions), so it is not "
                                  "copied as a rule; write one yourself if it is wanted"), False
        lone = ""
        if support and support.wordings:
            lone = f" (the closest wording is shared by {support.wordings[0].users} of the " \
                   f"{request.wording_min_users} users it would need)"
        return None, aspect, f"{NO_SPECIFIC_RULE}{lone}", False

    def propose(self, request: ProposalRequest, check: DraftCheck) -> ProposerResult:
        statements = file_statements(request.file)
        planned: list[_Planned] = []
        left_out: list[LeftOut] = []
        about = _about_tools(request.patterns)
        # a pattern about a tool's use comes after the tool's own patterns, to join its guideline
        ordered = ([p for p in request.patterns if p.id not in about]
                   + [p for p in request.patterns if p.id in about])
        for pattern in chain.from_iterable(_views(request, p) for p in ordered):
            if not pattern.fixable or pattern.state != "open":
                continue
            label = f"'{pattern.label}' ({pattern.count} items)"
            if pattern.kind == "tool_use" and pattern.tool:
                self._tool_guideline(request, pattern, planned, left_out)
                continue
            tool_plan = next((pl for pl in planned if pattern.id in about
                              and pl.theme == f"tool:{about[pattern.id]}"), None)
            if tool_plan is not None:
                self._join_guideline(request, pattern, tool_plan)
                continue
            theme = concept_of(pattern)
            twin = next((pl for pl in planned if theme is not None and pl.theme == theme), None)
            if twin is not None:
                # The rule this draft already writes answers this pattern too: cite it there, so
                # its feedback is pending and the next run does not propose the same rule again.
                twin.patterns.append(pattern)
                continue
            support = self._support(request, pattern)
            if support is not None and (support.users < request.min_users
                                        or support.runs < request.min_runs):
                left_out.append(LeftOut(label, f"{support.users} users in {support.runs} runs; a "
                                        f"rule needs at least {request.min_users} distinct users and "
                                        f"{request.min_runs} runs (policy proposer.min_users, "
                                        "proposer.min_runs)"))
                continue
            text, aspect, source, themed = self._candidate(request, pattern, statements)
            if text is None:
                left_out.append(LeftOut(label, source))
                continue
            remedy = REMEDIES.get(theme or "")
            if remedy is not None and remedy.given_theme and text == remedy.given:
                # the rule of another theme too (citing the sources given is keeping to them)
                theme = remedy.given_theme
                twin = next((pl for pl in planned if pl.theme == theme), None)
                if twin is not None:
                    twin.patterns.append(pattern)
                    continue
            said = support.themed if support is not None and themed else None
            if said is not None and (said.users < request.min_users
                                     or said.runs < request.min_runs):
                # the theme is read from some of its items: the rule rests on those alone
                left_out.append(LeftOut(label, f"{said.items} of its items read as its theme "
                                        f"('{_theme_label(pattern)}'), {said.who()}; a rule "
                                        "from the theme needs "
                                        f"at least {request.min_users} distinct users and "
                                        f"{request.min_runs} runs (policy proposer.min_users, "
                                        "proposer.min_runs)"))
                continue
            section = self._section_for(request, pattern)
            if section is None:
                continue
            plan = self._place(request, pattern, text, aspect, section, statements, planned, left_out)
            if plan is None:
                continue
            twin = next((pl for pl in planned if duplicates(text, _text(pl.op))
                         or (plan.target is not None and pl.target == plan.target)), None)
            if twin is not None:
                twin.patterns.append(pattern)
                continue
            plan.theme = theme or text
            plan.themed = themed
            plan.why = plan.why or f"From {source}."
            planned.append(plan)
        planned = _in_the_file_s_language(request, planned, left_out)
        chosen = self._fit(request, planned, left_out)
        if not chosen:
            raise NothingNew(_nothing_message(left_out), hint=_nothing_hint(left_out),
                             left_out=left_out)
        draft = Draft(summary=summary(chosen), rationale=self._rationale(request, chosen, left_out),
                      operations=[pl.op for pl in chosen])
        problems = check(draft)
        if problems:
            raise ProposerError("the heuristic draft does not pass the validator: " + "; ".join(problems),
                                hint=_open_block_hint(request))
        return ProposerResult(draft=draft, proposer=self.name, model=self.model, usage=Usage(),
                              left_out=left_out)

    def _tool_guideline(self, request: ProposalRequest, pattern: Pattern,
                        planned: list[_Planned], left_out: list[LeftOut]) -> None:
        """Plan the tool guideline a decision pattern asks for (see the module doc): tighten
        the tool's guideline in ``tools``, or add one (and the section, titled Tools, before the first
        protected one, when the file has none). A second pattern about the same tool is cited
        by the first one's edit."""
        tool = pattern.tool or ""
        theme = f"tool:{tool}"
        label = f"'{pattern.label}' ({pattern.count} runs)"
        twin = next((pl for pl in planned if pl.theme == theme), None)
        if twin is not None:
            twin.patterns.append(pattern)
            return
        text = " ".join((pattern.suggestion or "").split())
        if not text:
            left_out.append(LeftOut(label, "no guideline: the pattern suggests none"))
            return
        if (steers := steering(text)) is not None:  # a user's correction made it
            left_out.append(LeftOut(label, f"the users' guideline steers the agent ({steers!r}), "
                                    "so it is not copied as a rule"))
            return
        if guideline_tool(text) != tool:
            text = f"{tool}: {text}"
        text = text if text.endswith((".", "!", "?")) else text + "."
        clause = text.split(":", 1)[1].strip()
        section = tools_section(request.file)
        sid = section.id if section is not None else TOOLS_SECTION
        if sid in request.protected:
            left_out.append(LeftOut(label, f"the {sid!r} section is protected"))
            return
        known = request.known
        aspect = f"{tool} use"
        found = tool_guidelines(request.file).get(tool) if section is not None else None
        if found and section is not None and section.rules:
            current = section.rules[found[0]]
            if duplicates(clause, current.split(":", 1)[1]):
                left_out.append(LeftOut(label, f"already said by {sid} {rule_number(found[0])} "
                                        f"({current!r})"))
                return
            text = f"{current.rstrip()} {clause}"
            op: Operation = UpdateRule(section=sid, index=found[0], text=text,
                                       reason="-", evidence=[])
            action, why = "tighten", (f"Runs show the guideline for {tool} is not enough as it "
                                      "stands, so it is tightened with what the runs suggest.")
        elif section is None and not any(isinstance(pl.op, AddSection) and pl.op.id == TOOLS_SECTION
                                         for pl in planned):
            op = AddSection(id=TOOLS_SECTION, title=TOOLS_TITLE, rules=[text], position=_first_protected(request),
                            reason="-", evidence=[])
            action, why = "add", (f"The file has no {TOOLS_SECTION!r} section for tool-usage "
                                  "guidelines yet; it is added with this one.")
        else:
            op = AddRule(section=sid, text=text, reason="-", evidence=[])
            action, why = "add", f"The file has no guideline for {tool} yet."
        if (prior := rejected_match(text, known.rejected, sid)) is not None:
            left_out.append(_rejected(label, text, prior))
            return
        if (prior := pending_match(text, known.pending)) is not None:
            left_out.append(LeftOut(label, f"{text!r} is already proposed by {prior.proposal}"))
            return
        generic = clause if clause in GUIDELINES.values() and not isinstance(op, AddSection) else None
        planned.append(_Planned(op, action, aspect, theme, [pattern],
                                f"{why} From what the agent did: {pattern.label}.", generic=generic))

    def _join_guideline(self, request: ProposalRequest, pattern: Pattern,
                        plan: _Planned) -> None:
        """Cite ``pattern`` (about the answers, its complaints those about a tool) by the tool's
        guideline; when the guideline's clause is one for any tool and the pattern's users
        share a wording, the wording takes its place."""
        plan.patterns.append(pattern)
        support = self._support(request, pattern)
        shared = support.shared_wording(request.wording_min_users) if support else None
        if (plan.generic is None or shared is None or vague(shared.text)
                or not isinstance(plan.op, AddRule | UpdateRule)):
            return
        if (steers := steering(shared.text)) is not None:
            plan.why += (f" The wording its users share steers the agent ({steers!r}), so it is "
                         "not copied.")
            return
        said = _sentence(of_the_user(shared.text))
        text = _text(plan.op).replace(plan.generic, said, 1)
        if (rejected_match(text, request.known.rejected, plan.op.section) is not None
                or pending_match(text, request.known.pending) is not None):
            return
        plan.op = plan.op.model_copy(update={"text": text})
        plan.generic = None
        plan.why += f" In the words {shared.users} users share."

    def _place(self, request: ProposalRequest, pattern: Pattern, text: str, aspect: str,
               section: str, statements: list[Statement], planned: list[_Planned],
               left_out: list[LeftOut]) -> _Planned | None:
        """Where the rule goes: a new rule, a tightened or extended existing one, or nowhere."""
        label = f"'{pattern.label}' ({pattern.count} items)"
        known = request.known
        if (prior := rejected_match(text, known.rejected, section)) is not None:
            left_out.append(_rejected(label, text, prior))
            return None
        if (prior := pending_match(text, known.pending)) is not None:
            left_out.append(LeftOut(label, f"{text!r} is already proposed by {prior.proposal}"))
            return None
        # "Use plain language in commit messages" says nothing of the answers
        code = {s.id for s in request.file.sections if about_code(s)}
        statements = [st for st in statements if st.section not in code]
        for st in statements:
            if duplicates(text, st.text) or _same_length_rule(pattern, st):
                if st.index is None or st.section in request.protected:
                    left_out.append(LeftOut(label, f"already said by {st.where()} ({st.text!r})"))
                    return None
                tightened = self._tighten(request, pattern, st)
                if tightened is None:
                    left_out.append(LeftOut(label, f"already said by {st.where()} ({st.text!r}); "
                                            "users still raise it, but their words do not say how "
                                            "to make the rule stricter: worth a look by hand"))
                    return None
                new_text, why = tightened
                if (prior := rejected_match(new_text, known.rejected, st.section)) is not None:
                    left_out.append(_rejected(label, new_text, prior))
                    return None
                op = UpdateRule(section=st.section, index=st.index, text=new_text,
                                reason="-", evidence=[])
                return _Planned(op, "tighten", aspect, "", [pattern], why, st)
        theme = concept_of(pattern)
        same = next((st for st in statements if theme is not None and st.index is not None
                     and st.section == section and facts(st.text).concept == theme), None)
        remedy = REMEDIES.get(theme or "")
        if same is None and theme is not None and (remedy is None or text not in (remedy.own_form,
                                                                                  remedy.given)):
            # (the rule in the file's own citation format goes beside the rule that gives it,
            # and the rule to keep to the sources beside the one that gives them)
            same = next((st for st in statements
                         if st.index is not None and restates(text, st.text, theme)), None)
        if same is not None:
            # "Be direct; avoid sycophantic flattery" under complaints of flattery: a second
            # rule on the theme would repeat the first or contradict it ("Ask a follow-up
            # question when natural" under complaints of follow-up questions)
            left_out.append(LeftOut(label, f"{same.where()} is on this theme already "
                                    f"({same.text!r}); users still complain, so it is worth a "
                                    "look by hand: a second rule beside it would repeat or "
                                    "contradict it"))
            return None
        for st in statements:
            why_not = contradiction(text, st.text)
            if why_not is None:
                continue
            fs = facts(text)
            if fs.slot == "end" and st.index is not None and st.section not in request.protected:
                ending = remedy.ending if remedy and remedy.ending else _after_with(text)
                if ending:
                    merged = f"{st.text.rstrip().rstrip('.')}, then {ending}."
                    op = UpdateRule(section=st.section, index=st.index, text=merged, reason="-",
                                    evidence=[])
                    why = (f"{st.where()} already says how to end ({st.text!r}); a second "
                           "'End with' rule would contradict it, so that rule is extended instead.")
                    return _Planned(op, "extend", aspect, "", [pattern], why, st)
            left_out.append(LeftOut(label, f"{text!r} would contradict {st.where()} "
                                    f"({st.text!r}): {why_not}; a reviewer should decide"))
            return None
        if request.file.section(section) is None and not any(
                isinstance(pl.op, AddSection) and pl.op.id == section for pl in planned):
            added = AddSection(id=section, title=ANSWERS_TITLE, rules=[text],
                               position=_first_protected(request), reason="-", evidence=[])
            return _Planned(added, "add", aspect, "", [pattern],
                            "No section of the file is about the answers (nor general), so the "
                            f"rule goes in a new one, {ANSWERS_TITLE!r}.")
        return _Planned(AddRule(section=section, text=text, reason="-", evidence=[]), "add", aspect,
                        "", [pattern])

    def _tighten(self, request: ProposalRequest, pattern: Pattern,
                 st: Statement) -> tuple[str, str] | None:
        """A stricter wording of an existing rule the feedback says is not enough."""
        support = self._support(request, pattern)
        old = st.text.strip()
        if concept_of(pattern) == "length":
            said = consistent_number((support.numbers.get("words", []) if support else []),
                                     request.wording_min_users)
            current = [q for q in facts(old).quantities if q[0] == "words"]
            if said is not None and (not current or said < current[0][2]):
                if current:
                    new = re.sub(rf"\b{current[0][2]}\b", str(said), old, count=1)
                else:
                    new = f"{old.rstrip('.')}: at most {said} words."
                return new, (f"Users keep naming a limit of about {said} words, lower than the "
                             "rule's, so the rule takes their number.")
            if "hard limit" in old.lower() or not current:
                return None  # "Keep responses concise": no limit to make hard; a person decides
            return (f"{old.rstrip('.')}; {HARD_LIMIT}.",
                    f"Users still say the answers are too long under {st.where()} ({old!r}), so "
                    "the rule is not enough as it stands; it becomes a hard limit.")
        return None

    def _fit(self, request: ProposalRequest, planned: list[_Planned],
             left_out: list[LeftOut]) -> list[_Planned]:
        """The operations that fit the limits and pass the shared review, in order."""
        limits = request.limits
        budget = limits.max_added_chars
        chosen: list[_Planned] = []
        for pl in planned:
            text = _text(pl.op)
            what = f"{text!r} ({', '.join(repr(p.label) for p in pl.patterns)})"
            if len(chosen) >= limits.max_operations:
                left_out.append(LeftOut(what, f"over the policy's {limits.max_operations} "
                                        "operations per proposal; proposed once this one is decided"))
                continue
            if len(text) + 2 > budget:
                left_out.append(LeftOut(what, "over the policy's limit of added characters"))
                continue
            pl.op = self._finish(request, pl)
            trial = Draft(summary="-", rationale="-", operations=[*(c.op for c in chosen), pl.op])
            problems = [p for p in request.review(trial)
                        if p.startswith(f"operation {len(chosen) + 1} ")]
            if problems:
                left_out.append(LeftOut(what, problems[0].split(": ", 1)[-1]))
                continue
            budget -= len(text) + 2
            chosen.append(pl)
        return chosen

    def _finish(self, request: ProposalRequest, pl: _Planned) -> Operation:
        """The operation with its reason and evidence (every pattern behind it)."""
        evidence: dict[str, None] = {}
        for p in pl.patterns:
            evidence[p.id] = None
            evidence.update(dict.fromkeys(_cited(pl, p)))
        return pl.op.model_copy(update={"reason": _reason(request, pl)[:2000],
                                        "evidence": list(evidence)})

    def _rationale(self, request: ProposalRequest, chosen: list[_Planned],
                   left_out: list[LeftOut]) -> str:
        parts = [f"Proposed offline by the heuristic proposer (no language model): each rule is a "
                 f"theme's stock remedy, or wording at least {request.wording_min_users} users "
                 f"share, from patterns about the answers with at least {request.min_users} "
                 "distinct users behind them."]
        if any(s.anonymous for pl in chosen if (s := _support_of(request, pl.patterns[0]))):
            # said once here, not after every count below
            parts.append("No record names its user, so each run counts as one user.")
        for n, pl in enumerate(chosen, 1):
            parts.append(f"({n}) {_reason(request, pl, brief=True)}")
        if left_out:
            # NOTE: no count: the list below also holds what propose left out before asking
            # the proposer (patterns about the product), which this proposer never sees.
            parts.append("What was left out, and why, is listed below.")
        return " ".join(parts)[:4000]


_CITING = re.compile(r"\b(?:cite[sd]?|citing|citations?|references?|footnotes?|bibliograph\w*)\b", re.I)
# how a citation is written: a style, its parts, its place ("[1] Author, Title, page", "APA")
_CITATION_FORM = re.compile(r"\b(?:format|style|apa|mla|chicago|harvard|ieee|vancouver|bluebook|footnotes?|"
                            r"endnotes?|numbered|inline|brackets?|parenthes[ie]s|authors?|titles?|doi|urls?|"
                            r"links?|years?|dates?|publishers?|pages?)\b|\[\d+\]", re.I)


def _states_form(statements: Sequence[Statement]) -> Statement | None:
    """The file's own statement of how to cite ("Cite sources as numbered footnotes: [1]
    Author, Title, page."), a rule or a sentence of a section's text, if it has one."""
    return next((st for st in statements
                 if _CITING.search(st.text) and _CITATION_FORM.search(st.text)), None)


# what the agent is given to answer from: "the provided context", "the evidence below",
# "based only on the documents", "summarize the meeting transcript", "Read and analyze
# meeting notes or transcripts" (not "search results": an agent that searches finds sources
# it can cite; not "the following articles": a writer's are to write)
_GIVEN_SOURCES = re.compile(
    r"\b(?:(?:following|given|provided|supplied|retrieved|attached)\s+(?:context|evidence|"
    r"documents?|sources?|passages?|excerpts?|fragments?)|(?:context|evidence|"
    r"documents?|passages?|excerpts?|fragments?)\s+(?:provided|given|supplied|below)|(?:based|"
    r"grounded)\s+(?:only\s+|solely\s+|strictly\s+|entirely\s+)?on\s+the\s+(?:context|"
    r"evidence|documents?|passages?|excerpts?)|(?:summari[sz]\w*|analy[sz]\w*|read)\s+"
    r"(?:\w+\s+){0,3}?(?:transcripts?|meeting\s+notes|(?:meeting|the)\s+minutes))\b", re.I)


def _gives_sources(statements: Sequence[Statement]) -> Statement | None:
    """The file's statement that gives the agent what to answer from ("Answer the question
    using the provided context."), a rule or a sentence of a section's text, if it has one:
    such an agent cites what it is given, and complaints of its sources are that it strays
    from them (answers "the evidence does not say")."""
    return next((st for st in statements if _GIVEN_SOURCES.search(st.text)), None)


_CUSTOMERS = re.compile(
    r"\b(?:customers?|(?:customer|tech|technical|it) support|support (?:agent|team|request|case|"
    r"representative)s?|tickets?|complaints?|refunds?|help ?desk|service desk|"
    r"troubleshoot\w*)\b", re.I)


def _serves_customers(statements: Sequence[Statement]) -> Statement | None:
    """The file's first statement that names customers, tickets, complaints or
    troubleshooting, if it has one: users of such an agent report problems to it, and one
    that sounds robotic or cold to them has not acknowledged theirs. 14 of the 240 agents of
    the real-file corpus do, support crews, a shop's chat and a database troubleshooter among
    them; a PR reviewer's "report issues" and an HTTP "client" are not customers."""
    return next((st for st in statements if _CUSTOMERS.search(st.text)), None)


def _not_every_answer(section: Section) -> bool:
    """Whether a section holds no rule for every answer: it is about the code (see
    :func:`~gitimprove.proposals.rules.about_code`), or its title names a case or a
    procedure ("When Teaching:", "Before Acting", "Build It In This Order", "Workflow"): a
    rule added there is one more step of it (cagent's learning companion took the accuracy
    rule as step 6 of "When Teaching:")."""
    return (about_code(section) or names_case_or_steps((section.title or "").strip(" *_:"))
            or _only_a_sample(section) or _CAPABILITIES.search(section.title or "") is not None)


# a section that lists what the agent can do: a meeting summarizer's "Processing Capabilities"
# ("**Transcripts**: Extract key information from long transcripts") took its rule on facts
_CAPABILITIES = re.compile(r"\bcapabilit", re.I)


def _only_a_sample(section: Section) -> bool:
    """Whether a section holds nothing but code blocks, tables or worked examples (a meeting
    summarizer's "Standard Format", a fenced template of the summary): a rule added after it
    would read as part of the sample. Its words named it the concern of the rule on keeping to
    the source ("Decision with context and rationale")."""
    return bool((section.text or "").strip()) and not section.rules and not own_text(
        section.text or "")[0].strip()


def _first_protected(request: ProposalRequest) -> int | None:
    """The position of the file's first protected section: a section added goes before it,
    never after it where it would read as part of it (None: the end)."""
    return next((i for i, s in enumerate(request.file.sections) if s.id in request.protected), None)


ABOUT_TOOL = 2 / 3  # share of a pattern's items among a tool's complaints that make it about the tool


def _about_tools(patterns: list[Pattern]) -> dict[str, str]:
    """The patterns about the answers (pattern id -> tool) whose items are mostly complaints
    that name what one tool did (its ``complaints`` pattern, :mod:`gitimprove.patterns.decisions`).
    Not the tool's other patterns: "runs that call it are rated down more" holds every
    complaint of those runs, whatever it is about."""
    said = {p.tool: set(p.feedback_ids) for p in patterns
            if p.kind == "tool_use" and p.tool and p.key == f"tool:{p.tool}:complaints"}
    found: dict[str, str] = {}
    for p in patterns:
        ids = set(p.feedback_ids)
        if p.kind == "tool_use" or not ids:
            continue
        for tool in sorted(said):
            if len(ids & said[tool]) >= ABOUT_TOOL * len(ids):
                found[p.id] = tool
                break
    return found


def _in_the_file_s_language(request: ProposalRequest, planned: list[_Planned],
                            left_out: list[LeftOut]) -> list[_Planned]:
    """``planned``, less what would write English words into a file written in another
    language: the stock remedies, guidelines and tightenings are English, and an English rule
    in a Russian or Spanish prompt reads as a patch. Users' own wordings in the file's
    language pass."""
    prose = " ".join(piece for section in request.file.sections for _, piece in section.pieces())
    if _english(prose):
        return planned
    language = script(prose)
    written = ("in another language" if language == "latin" else
               f"in {'CJK' if language == 'cjk' else language.capitalize()} script")
    kept = []
    for plan in planned:
        old = ""
        if isinstance(plan.op, UpdateRule):
            rules = request.file.section(plan.op.section)
            old = (rules.rules or [])[plan.op.index] if rules is not None else ""
        before = set(_WORDS.findall(old.lower()))
        added = [w for w in _WORDS.findall(_text(plan.op).lower()) if w not in before]
        if added and _english(" ".join(added)):
            for pattern in plan.patterns:
                left_out.append(LeftOut(
                    f"'{pattern.label}' ({pattern.count} items)",
                    f"the file is written {written}, and the rule the offline proposer has for "
                    f"it is English ({_text(plan.op)[:60]!r}); write it yourself in the file's "
                    "language, or set ANTHROPIC_API_KEY for a model to write it"))
        else:
            kept.append(plan)
    return kept


_WORDS = re.compile(r"[^\W\d_]+")


def _english(text: str) -> bool:
    """Whether ``text`` reads as English: written in Latin letters, and not in one of the other
    languages feedback comes in (see :func:`gitimprove.patterns.text.reads_as_english`; a
    text with neither kind of function word is taken as English: a list of names says
    nothing)."""
    return script(text) == "latin" and reads_as_english(tokens(text))

def _text(op: Operation) -> str:
    if isinstance(op, AddSection):
        return "\n".join(op.rules or [])
    return op.text if isinstance(op, AddRule | UpdateRule) else ""


def _after_with(text: str) -> str | None:
    m = re.match(r"^(?:always\s+)?(?:end|finish|close|conclude)\b.*?\bwith\s+(.+?)[.!]?$", text, re.I)
    return m.group(1) if m else None


def _same_length_rule(pattern: Pattern, st: Statement) -> bool:
    """A length complaint under a rule that already limits the length or asks for brevity
    ("Keep responses concise ...")."""
    fs = facts(st.text)
    return (concept_of(pattern) == "length" and st.index is not None and not fs.negative
            and ("length" in fs.concepts or fs.brief
                 or any(u == "words" for u, _, _ in fs.quantities)))


def _rejected(label: str, text: str, prior: PriorRule) -> LeftOut:
    reason = shorten(prior.reason, 160) if prior.reason else None  # one line, no controls
    because = f' ("{reason}")' if reason else ""
    what = "rolled back" if prior.rolled_back else "rejected before"
    return LeftOut(label, f"{text!r} was {what} in {prior.proposal}{because}", rejected=True,
                   proposal=prior.proposal, reason=reason, rolled_back=prior.rolled_back)


def _cited(pl: _Planned, pattern: Pattern) -> list[str]:
    """The feedback ids a planned operation cites of ``pattern``: its open ones, or all; of a
    theme's stock remedy, only those that speak of the theme (:attr:`Pattern.theme_ids`)."""
    ids = pattern.open_ids or pattern.feedback_ids
    if pl.themed and pattern.theme_ids:
        said = set(pattern.theme_ids)
        return [i for i in ids if i in said]
    return ids


def _reason(request: ProposalRequest, pl: _Planned, *, brief: bool = False) -> str:
    main = pl.patterns[0]
    support = _support_of(request, main)
    themed = support.themed if support is not None and pl.themed else None
    also = [p for p in pl.patterns[1:]]
    more = (" Also behind it: " + "; ".join(f"'{p.label}' ({p.count} items)" for p in also) + "."
            if also else "")
    verb = {"add": "Adds a rule", "tighten": "Tightens", "extend": "Extends"}[pl.action]
    target = f" {pl.target.where()}" if pl.target is not None else ""
    if themed is not None:  # the rule rests on the items that speak of the theme
        items = (f"{themed.items} of its {main.count} items, read as '{_theme_label(main)}', "
                 f"{themed.who()}")
        said = list(themed.quotes) or _on_theme(main)  # a theme's view: its items' own words
        quotes = _quotes([main.model_copy(update={"quotes": said}), *also],
                         2 if brief else MAX_QUOTES)
    else:
        items = f"{main.count} items" + (f" {support.who()}" if support else "")
        quotes = _quotes(pl.patterns, 2 if brief else MAX_QUOTES)
    if brief:
        return f"{verb}{target} for '{main.label}' ({items}: {quotes})."
    return f"{verb}{target} for '{main.label}': {items}, e.g. {quotes}. {pl.why}{more}".replace("  ", " ")


def _on_theme(pattern: Pattern) -> list[str]:
    """The quotes of ``pattern`` that speak of its theme first, read as analysis read its
    items (all of them, if none does)."""
    from gitimprove.patterns.analysis import Themer

    themer = Themer()
    said = [q for q in pattern.quotes if themer(q).concepts[:1] == (pattern.theme,)]
    return said or pattern.quotes


def _theme_label(pattern: Pattern) -> str:
    """How the lexicon names the failure of a pattern's theme ("factual errors or invented
    details" for ``accuracy``)."""
    found = concept(pattern.theme or "")
    return found.failure if found is not None else pattern.theme or ""


def summary(chosen: list[_Planned]) -> str:
    """A title that names what changes: "Tighten the length rule; add rules on clichés and
    customer benefits"."""
    tighten = [pl.aspect for pl in chosen if pl.action == "tighten"]
    extend = [pl.aspect for pl in chosen if pl.action == "extend"]
    add = [pl.aspect for pl in chosen if pl.action == "add"]
    parts = []
    if tighten:
        parts.append(f"tighten the {_and(tighten)} rule{'s' if len(tighten) > 1 else ''}")
    if add:
        parts.append(f"add {'a rule' if len(add) == 1 else 'rules'} on {_and(add)}")
    if extend:
        parts.append(f"extend the ending with {_and(extend)}")
    text = "; ".join(parts)
    if len(text) > 200:
        text = f"{len(chosen)} rule changes: " + ", ".join(pl.action for pl in chosen)
    return text[0].upper() + text[1:]


def _and(items: list[str]) -> str:
    items = list(dict.fromkeys(items))
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


NO_SPECIFIC_RULE = "no specific rule: the theme has no stock remedy and users do not agree on a wording"


def _nothing_hint(left_out: list[LeftOut]) -> str:
    if any(lo.why.startswith(NO_SPECIFIC_RULE) for lo in left_out):
        return ("offline, a rule is a theme's stock remedy or a wording several users share; "
                "with ANTHROPIC_API_KEY set a model writes one from the patterns "
                "(`gitimprove analyze`), or edit the agent by hand")
    return "review the open proposals, or edit the agent by hand"


def _nothing_message(left_out: list[LeftOut]) -> str:
    if not left_out:
        return ("every open pattern is already covered by a similar rule in the file or in an "
                "open proposal")
    return f"no rule passes the checks ({left_out_summary(left_out)})"


def _open_block_hint(request: ProposalRequest) -> str:
    """What to do about a draft the validator refuses: when a section of the file itself
    leaves a code fence or an HTML comment open (a file cut short), whatever a proposal adds
    after it would read as part of it, and the file is what to fix."""
    for section in request.file.sections:
        for _, text in section.pieces():
            found = unclosed_block(text)
            if found is not None:
                return (f"section {section.id!r} of {request.agent} has {found}: what follows it "
                        "reads as part of it; close it in the file, commit, then propose again")
    return "this is a bug; please report it with `propose --dry-run --json`"
