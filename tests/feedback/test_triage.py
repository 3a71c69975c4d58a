"""Triage (answers / product / praise), the analyze command's product section, and bad input
to the offline grouping: empty, one word, other languages, emoji only, huge, repeated."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from gitimprove.cli import cli
from gitimprove.feedback.models import FeedbackRecord, make_record
from gitimprove.instructions.repo import InstructionRepo
from gitimprove.patterns.analysis import analyze_records
from gitimprove.patterns.grouping import UNCLUSTERED, cluster_texts
from gitimprove.patterns.lexicon import Lexicon
from gitimprove.patterns.text import is_unspecific, tokens
from gitimprove.patterns.triage import decide, plain_product_topic, product_topic, subject_words
from gitimprove.proposals.build import triage_left_out

T0 = datetime(2026, 10, 1, tzinfo=UTC)


def recs(texts: list[str], *, rating: str = "down", start: int = 0) -> list[FeedbackRecord]:
    return [make_record({"id": f"x{start + i}", "agent": "a", "run_id": f"r{start + i}",
                         "rating": rating, "reason": t, "created_at": T0 + timedelta(minutes=i)})
            for i, t in enumerate(texts)]


def topic(text: str) -> str | None:
    toks = tokens(text)
    return product_topic(toks, Lexicon().match(toks))


@pytest.mark.parametrize("text, expected", [
    ("You have reached the message limit, try again in 3 hours", "usage limits"),
    ("Charged me twice for the Plus subscription, I want a refund", "pricing"),
    ("I can't log in, the verification code never arrives", "login"),
    ("The app crashes every time I open it", "crashes and bugs"),
    ("No iPad version, the screen is tiny", "interface"),
    ("The answer was far too long and rambling", None),
    ("It made up a citation that does not exist", None),
    ("So slow", "latency"),  # an app's speed, not a support process that drags on
    ("very slow response", "latency"),
    ("please fix this bug", "crashes and bugs"),  # a bug report, not a case left unresolved
    ("Intrusive ads everywhere", "advertising"),
    ("False advertising, nothing like the app", "advertising"),
    ("Anno Domini dates: 1066 AD is wrong in the answer", None),  # "AD" is no ad
    # a sign-up code is no program's code; a server is busy however it is spelt
    ("Code is never working to sign up. 3rd attempt and no code received.", "login"),
    ("the code is either sent after the time runs out or not at all", "login"),
    ("The code it wrote is wrong, it does not compile", None),
    ("Sever is always busy.", "crashes and bugs"),
    ("I am always busy and it helps me plan", None),
    ("", None),
])
def test_item_topics(text: str, expected: str | None) -> None:
    assert topic(text) == expected


def test_pattern_triage_is_a_majority_of_its_items() -> None:
    assert decide(["login", "login", None]) == ("product", "login")
    assert decide(["login", None, None]) == ("answers", None)
    assert decide([]) == ("answers", None)


def test_product_and_answer_complaints_are_told_apart() -> None:
    limits = [f"hit the message limit again, only {n} messages every few hours" for n in range(8)]
    login = [f"cannot log in, the login code never arrives (try {n})" for n in range(6)]
    long = [f"the answer is far too long and wordy, {n} paragraphs for a yes" for n in range(7)]
    praise = ["love how concise the answers are", "concise answers, love it",
              "love the concise answers"]
    patterns = analyze_records(recs(limits + login + long) + recs(praise, rating="up", start=100))
    kinds = {p.label: (p.triage, p.topic, p.fixable) for p in patterns}
    assert ("product", "usage limits", False) in kinds.values()
    assert ("product", "login", False) in kinds.values()
    assert kinds["too long / verbose"] == ("answers", None, True)
    assert all(p.triage == "praise" for p in patterns if p.kind == "successful_pattern")
    assert all(p.section is None and p.suggestion is None for p in patterns if p.triage == "product")


def test_analyze_lists_product_groups_apart(repo_with_feedback: InstructionRepo,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    store = repo_with_feedback.feedback_store()
    said = ["You have reached your usage limit, come back in 5 hours",
            "hit the usage limit after a handful of messages", "usage limit again. Paying for this?",
            "the usage limit resets too slowly", "Usage limits make it useless for real work",
            "reached the usage limit before lunch"]
    store.add([make_record({"id": f"lim{i}", "agent": "product-writer", "rating": "down",
                            "reason": text}) for i, text in enumerate(said)])
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.chdir(repo_with_feedback.git.work_tree or ".")
    out = CliRunner().invoke(cli, ["analyze", "product-writer"])
    assert out.exit_code == 0, out.output
    head, _, tail = out.output.partition("Not about the instructions")
    assert "usage limits, " in tail and "too long / verbose" in head
    assert "usage limit" not in head
    data = json.loads(CliRunner().invoke(cli, ["analyze", "product-writer", "--json"]).stdout)
    assert data["method"] == "offline"
    product = [p for p in data["patterns"] if p["triage"] == "product"]
    assert product and product[0]["topic"] == "usage limits"


def test_analyze_shows_the_parts_of_a_merged_pattern(repo_with_feedback: InstructionRepo,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from .conftest import FIXTURES

    rows = [json.loads(line) for line in
            (FIXTURES / "paraphrase_feedback.jsonl").read_text().splitlines() if line]
    repo_with_feedback.feedback_store().add([make_record({
        "id": f"para{i}", "agent": "product-writer", "rating": "down",
        "reason": str(r.get("reason") or r.get("correction"))}) for i, r in enumerate(rows)])
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.chdir(repo_with_feedback.git.work_tree or ".")
    data = json.loads(CliRunner().invoke(cli, ["analyze", "product-writer", "--json"]).stdout)
    merged = [p for p in data["patterns"] if p["parts"] and p["triage"] == "answers"]
    assert merged
    out = CliRunner().invoke(cli, ["analyze", "product-writer"])
    assert out.exit_code == 0, out.output
    first = merged[0]["parts"][0]
    assert f"parts: {first['label']} ({first['count']})" in out.output


@pytest.mark.parametrize("texts", [
    [""] * 3 + ["   "],
    ["ok"] * 5,
    ["😡😡😡", "🙄", "👎👎"] * 3,
    ["não funciona o login", "login não funciona nunca", "ne fonctionne pas du tout",
     "总是出现链接问题", "总是出现链接问题！"] * 2,
])
def test_bad_input_is_handled(texts: list[str]) -> None:
    records = [r for r in (make_record({"id": f"b{i}", "agent": "a", "rating": "down",
                                        "reason": t or None, "created_at": T0})
                           for i, t in enumerate(texts))]
    patterns = analyze_records(records)
    ids = [i for p in patterns for i in p.feedback_ids]
    assert len(ids) == len(set(ids))


def test_huge_and_repeated_texts() -> None:
    huge = "the export button does nothing " * 7000  # 200 KB
    assert len(huge) > 200_000
    labels = cluster_texts([huge, huge[:-1], "short"], weights=[1, 1, 1])
    assert len(labels) == 3
    same = recs(["the export button does nothing"] * 10_000)
    (p,) = analyze_records(same)
    assert p.count == 10_000 and p.quotes == ["the export button does nothing"]
    assert cluster_texts([]) == [] and cluster_texts(["alone"]) == [UNCLUSTERED]


def test_grouping_leaves_logging_alone() -> None:
    root = logging.getLogger()
    before = (list(root.handlers), root.level)
    cluster_texts(["one text", "another text"])
    assert (list(root.handlers), root.level) == before


@pytest.mark.parametrize("text", [
    "Candidate makes an arithmetic error: he spent 3 + 4 * 3 = 43 dollars, the correct cost is 15",
    "The output says John had to pay half the amount, but the calculation is wrong",
    "The fourth born child cannot be 22 years old, the calculation is wrong",
])
def test_critiques_of_an_answer_that_mention_money_are_about_the_answers(text: str) -> None:
    assert topic(text) is None


@pytest.mark.parametrize("text, expected", [
    # what an answer knows is about the answers, whatever else the review says
    ("Paid for plus and it still has no knowledge of anything past 2021", None),
    ("Its last knowledge update was in 2021, the info is outdated", None),
    # a country is a place the answer speaks of; "my country" is where the service is not
    ("The narrator mentions other countries, so it is not domestic affairs", None),
    ("Not available in my country, even with a VPN", "availability"),
])
def test_words_that_say_what_a_complaint_is_about(text: str, expected: str | None) -> None:
    assert topic(text) == expected


@pytest.mark.parametrize("text, expected", [
    # a phrase's words are stemmed: "monthly" is "month", "settings" is "set"; months, years
    # and sets in what an answer got wrong are not a price or a menu
    ("There is more than one day in a month.", None),
    ("Darci is 16 now, so she was 15 last year; Dallas is 3 years older", None),
    ("The season runs from September to November, those months are the regular season", None),
    ("The numbers in the set are all even", None),
    # the same topics said plainly
    ("$30 a month or $90 a year, just stupid", "pricing"),
    ("They removed the monthly plan, bring back month to month", "pricing"),
    ("The settings menu is impossible to find", "interface"),
])
def test_months_years_and_sets_are_not_the_product(text: str, expected: str | None) -> None:
    assert topic(text) == expected


def test_word_problems_about_months_are_about_the_answers() -> None:
    texts = ["There is more than one day in a month.",
             "1 cup a day for 3 months is not 3 cups, a month has about 30 days",
             "She has 2 months left, not 12 months; the months in a year were miscounted",
             "A year has 12 months, so 4 years are 48 months and not 40 months"]
    assert decide([topic(t) for t in texts]) == ("answers", None)


def plain(text: str) -> str | None:
    toks = tokens(text)
    return plain_product_topic(toks, lambda: Lexicon().match(toks))


@pytest.mark.parametrize("text, expected", [
    ("very slow app", "latency"),                         # a topic word beside the product
    ("hit the message limit, then the usage cap", "usage limits"),  # the topic said twice
    ("too slow", "latency"),                              # nothing in it is about an answer
    ("the answers are too slow", None),                   # ... here the answer is
    ("There is more than one day in a month.", None),     # content, not the product
    ("The answer is slow to get to the point, the app should say it first", None),
    ("Oauth error, stuck, can't log in", "login"),          # a coding CLI's sign-in
    ("OAuth login fails with Authorization failed", "login"),
    ("the OAuth code it wrote does not compile", None),     # the code it wrote is its answer
    # the app's own error message: "wrong" in it says nothing of an answer
    ('It keeps giving me an error message of "something went wrong"', "crashes and bugs"),
    ("not working for days, it only shows something went wrong", "crashes and bugs"),
    ("something went wrong and the answer it gave was wrong", None),  # ... this one does
    # "for some reason" is an idiom of reviews, not an answer's reasoning
    ("for some reason it logs me out every day", "login"),
    ("it's take too much time 😕", "latency"),
    ("image generating takes so much time", "latency"),
    ("for no reason all my chats disappeared", "crashes and bugs"),
    ("used to be free. now another mental health app locked behind a paywall", "pricing"),
    # the servers: phrases of the ChatGPT and Replika reviews
    ("server is so busy", "crashes and bugs"),
    ("How to register. The server cannot connect.", "crashes and bugs"),
    ("hard to use due to some kind of unstable server issue", "crashes and bugs"),
    ("my phone won't connect to the servers", "crashes and bugs"),
    ("the answer keeps the server busy for minutes", None),  # an answer's fault
    ("its reasoning about my login problem was wrong", None),
])
def test_an_item_alone_is_about_the_product_only_plainly(text: str, expected: str | None) -> None:
    assert plain(text) == expected


def test_product_complaints_leave_patterns_about_the_answers() -> None:
    """An answers cluster keeps only its answer complaints: an item plainly about the product
    joins the product pattern of its topic, so no proposal rests on it."""
    wrong = [f"the answer to question {n} was wrong, it got the facts wrong" for n in range(8)]
    limits = ["the app hit the limit again after two wrong-looking messages",
              "wrong again, and then the app says I reached the limit"]
    capped = [f"reached the message limit after {n} messages, the app is capped" for n in range(5)]
    patterns = analyze_records(recs(wrong + limits + capped))
    by_id = {r: p for p in patterns for r in p.feedback_ids}
    answers = {p.id for p in patterns if p.triage == "answers"}
    product = [p for p in patterns if p.triage == "product"]
    assert product and all(p.topic == "usage limits" for p in product)
    assert all(by_id[f"x{n}"].id in answers for n in range(8) if f"x{n}" in by_id)
    for n in range(8, 15):
        assert f"x{n}" not in by_id or by_id[f"x{n}"].triage == "product"
    ids = [i for p in patterns for i in p.feedback_ids]
    assert len(ids) == len(set(ids))  # each item in one pattern at most


@pytest.mark.parametrize("text, expected", [
    ("worst app ever", True),
    ("Useless", True),
    ("not good", True),
    ("do not like this app", True),
    ("good app", True),                      # praise under a negative rating: no reason either
    ("great answers", False),                # says what is good
    ("the app is not working", False),       # says what is wrong
    ("the answers are bad", False),          # says what is bad
    ("fails every time I upload a file", False),
    ("lol", False),                          # noise, not a complaint
    ("not ok", True),                        # a judging word under a negation, all stop words
    ("don't like", True),
    ("ok", False),
    ("no", False),
    ("verry bad..", True),                   # a misspelt intensifier
    ("It is a dangerous app", True),
    ("bahut bekar hai", True),               # Hindi in Latin letters: "very useless"
    ("Muy malo", True),                      # judging words of other languages...
    ("Não recomendo", True),
    ("c'est nul", True),
    ("очень плохо", True),
    ("فاشل", True),
    ("খারাপ", True),
    ("最悪", True),
    ("kötü uygulama", True),
    ("la app es mala y cara", False),        # ... and what they say is wrong: "expensive"
    ("очень медленно", False),               # "very slow"
    ("no funciona", False),                  # "does not work"
    ("fails a lot", False),                  # it fails: something is wrong
    ("not working", False),
    ("1 star", True),                        # a rating said again in words
    ("Two stars said it all", True),
    ("only 1 star because no dark mode", False),
])
def test_unspecific_complaints(text: str, expected: bool) -> None:
    assert is_unspecific(tokens(text)) is expected


def test_complaints_without_a_reason_are_one_group_never_proposed() -> None:
    vague = ["worst app ever", "Useless", "not good", "very bad app", "trash", "worst"]
    long = [f"the answer is far too long and wordy, {n} paragraphs for a yes" for n in range(5)]
    patterns = analyze_records(recs(vague + long) + recs(["worst"], rating="up", start=50))
    (unspecific,) = [p for p in patterns if p.triage == "unspecific"]
    assert unspecific.count == len(vague) and not unspecific.fixable
    assert unspecific.section is None and unspecific.suggestion is None
    assert set(unspecific.feedback_ids) == {f"x{n}" for n in range(len(vague))}
    assert all(p.triage == "answers" for p in patterns if p.kind == "recurring_failure"
               and p is not unspecific)
    left = triage_left_out(patterns)
    assert any("gives no reason" in item.why for item in left)


def test_praise_under_a_negative_rating_gives_no_reason() -> None:
    # Real one-star reviews often praise: "Good help", "Chatgpt is best app". They formed a
    # pattern of failures ("app, good, help") that no instruction could act on.
    praise = ["Good help", "good work", "Chatgpt is best app", "this is good for all student",
              "great answers"]
    complaints = ["good but slow", "deepseek is better than this chatgpt",
                  "was good before the update", "nice app, needs dark mode",
                  "good app, answers are wrong"]
    patterns = analyze_records(recs(praise + complaints))
    (unspecific,) = [p for p in patterns if p.triage == "unspecific"]
    assert set(unspecific.feedback_ids) == {f"x{n}" for n in range(len(praise))}


def test_analyze_shows_complaints_without_a_reason_apart(
        repo_with_feedback: InstructionRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    store = repo_with_feedback.feedback_store()
    store.add([make_record({"id": f"vague{i}", "agent": "product-writer", "rating": "down",
                            "reason": text}) for i, text in
               enumerate(["worst app ever", "useless", "trash", "so bad", "not good at all"])])
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.chdir(repo_with_feedback.git.work_tree or ".")
    out = CliRunner().invoke(cli, ["analyze", "product-writer"])
    assert out.exit_code == 0, out.output
    head, _, tail = out.output.partition("No reason given")
    assert tail.lstrip().startswith("(nothing to change an instruction by; never proposed): 5")
    assert "worst app ever" not in head
    data = json.loads(CliRunner().invoke(cli, ["analyze", "product-writer", "--json"]).stdout)
    (p,) = [p for p in data["patterns"] if p["triage"] == "unspecific"]
    assert p["count"] == 5 and p["label"] == "unhappy, no reason given"


def test_analyze_counts_the_product_groups_it_does_not_show(
        repo_with_feedback: InstructionRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    store = repo_with_feedback.feedback_store()
    said = [f"charged me twice for the Plus subscription, refund please ({n})" for n in range(5)] + \
        [f"cannot log in, the login code never arrives (try {n})" for n in range(5)]
    store.add([make_record({"id": f"prod{i}", "agent": "product-writer", "rating": "down",
                            "reason": text}) for i, text in enumerate(said)])
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.chdir(repo_with_feedback.git.work_tree or ".")
    monkeypatch.setattr("gitimprove.cli.feedback.PRODUCT_LINES", 1)
    out = CliRunner().invoke(cli, ["analyze", "product-writer"])
    assert out.exit_code == 0, out.output
    product = [p for p in json.loads(CliRunner().invoke(
        cli, ["analyze", "product-writer", "--json"]).stdout)["patterns"] if p["triage"] == "product"]
    assert len(product) >= 2
    rest = sorted(product, key=lambda p: (-p["count"], p["id"]))[1:]
    assert (f"... and {len(rest)} smaller groups, {sum(p['count'] for p in rest)} items "
            "(analyze --json lists them all)") in out.output


def test_analyze_shows_the_most_important_patterns_and_all_with_all(
        repo_with_feedback: InstructionRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.chdir(repo_with_feedback.git.work_tree or ".")
    monkeypatch.setattr("gitimprove.cli.feedback.PATTERN_LINES", 1)
    answers = [p for p in json.loads(CliRunner().invoke(
        cli, ["analyze", "product-writer", "--json"]).stdout)["patterns"]
        if p["triage"] not in ("product", "unspecific")]
    assert len(answers) >= 2
    out = CliRunner().invoke(cli, ["analyze", "product-writer"]).output
    assert answers[0]["id"] in out and not any(p["id"] in out for p in answers[1:])
    assert (f"... and {len(answers) - 1} more patterns, "
            f"{sum(p['count'] for p in answers[1:]):,} items (analyze --all shows them)") in out
    every = CliRunner().invoke(cli, ["analyze", "product-writer", "--all"]).output
    assert all(p["id"] in every for p in answers) and "more patterns" not in every


def test_wrong_answers_are_about_the_answers_and_named_as_such() -> None:
    # "gives wrong answers" is the most common complaint about an assistant's answers; it was
    # left unnamed, so the offline proposer had no remedy for 42 such app reviews.
    texts = ["This app no give right answer This app give only wrong answer",
             "it gives wrong answers when you use it for a long time",
             "so many wrong answers lately", "wrong answer again on a simple question",
             "the app gives the wrong answer", "wrong answers all the time",
             "login is broken", "cannot log in to my account", "login fails every time"]
    patterns = analyze_records(recs(texts), min_support=3)
    assert [(p.label, p.triage) for p in patterns] == [
        ("factual errors or invented details", "answers"), ("login", "product")]
    assert patterns[0].count >= 5


@pytest.mark.parametrize("text, concepts", [
    ("completely useless app", ()),             # an intensifier, not a complete answer
    ("Detailed and complete, saved me hours.", ("depth",)),
    ("kind of slow", ()),                       # not a kind tone
    ("Kind and clear, thanks", ("tone",)),
    ("sorry but this app is bad", ()),          # the user's sorry, not the agent's apology
    ("frustrating app", ()),                    # a judgement, like "annoying"
    ("I made a purchase and it does not work", ()),
    ("The final sentence should prompt a purchase", ("call_to_action",)),
    # the user who does not understand the answer, not a bot that does not understand the user
    ("I still don't understand what it means", ("jargon",)),
    ("too technical, I did not understand the explanation", ("jargon",)),
    ("the AI doesn't understand anything I say", ("relevance",)),  # it answers something else
    ("it doesnt understand about mature stuff", ()),
    # a constraint the user stated and the answer ignored (a restaurant scout's reviews)
    ("It ignored that I was upset", ("tone",)),  # ... not a feeling it passed over
    ("Didn't respect my dietary restrictions", ("instructions",)),
    ("No vegetarian options even though I said I'm vegetarian", ("instructions",)),
    # what the answer named has changed since: the theme of knowledge out of date
    ("Two of the places were permanently closed", ("outdated",)),
    ("Sent us to a restaurant that no longer exists", ("outdated",)),
    ("This thing can only access data pre 2021!", ("outdated",)),
    ("its training data is two years old", ("outdated",)),
    ("The app keeps closing", ()),
    # critiques of an answer's argument; "reasoning" alone is stemmed as "reason"
    ("The response makes a wrong reasoning with time information.", ("reasoning",)),
    ("The conclusion does not follow from the evidence.", ("reasoning",)),
    ("The answer contradicts itself in the second paragraph", ("reasoning",)),
    # a math tutor's critiques: steps left out are its reasoning, text after the answer length
    ("The candidate misses the final steps to get to the final answer.", ("reasoning",)),
    ("A step is missing in the candidate output.", ("reasoning",)),
    ("It is clear that a number of steps were missed", ("reasoning",)),
    ("Information after giving the answer is unnecessary.", ("length",)),
    # a math-problem writer's critiques: what the requirement asked for is an instruction
    ("The solution does not include numbers with one decimal place, which is specified in "
     "the requirement.", ("instructions",)),
    ("Solution does not follow the constraint to include the equation", ("instructions",)),
    ("The conclusion does not follow from the evidence.", ("reasoning",)),
    ("Ending sentence is in the wrong format.", ("instructions",)),
    # a figure twice or three times is no question asked twice
    ("The last one is twice that long", ()),
    ("9+14=23 is listed 2 times in a row", ()),
    ("It asked for my account email twice", ("repeat_questions",)),
    ("I had to give my order number 3 times", ("repeat_questions",)),
    # a summary's or a retrieval answer's critics: what the material does not say; a detail
    # left out is not one added
    ("The source document does not include information to support the claims.", ("grounding",)),
    ("There is no mention of gun control in the document.", ("grounding",)),
    ("It is not stated in the text that the council raised the fee", ("grounding",)),
    ("This can neither be traced back to nor inferred from the source.", ("grounding",)),
    ("it does not mention the warranty", ()),
    ("Per source document the senator said so, not the governor", ("grounding",)),
    ("they charge 5 cents per text message", ()),  # a price per message, no source
    # a chatbot's users: it answers from a script, or does not take in what they say; a
    # coding agent's script is a program
    ("Only provides basic scripted messages regardless of what you write", ("canned",)),
    ("Canned replies, the same script every time", ("canned",)),
    ("It just gives you multiple choice options", ("canned",)),
    ("It doesn't understand anything I'm saying", ("relevance",)),
    ("Its replies have nothing to do with what I said", ("relevance",)),
    ("the script it wrote fails on line 3", ()),
    ("sounds like generic marketing fluff", ("cliches",)),
    ("generic superlatives, could be about any product", ("cliches",)),
    # "generic" alone asks for a reply to what was asked: a FAQ bot's, a chatbot's
    ("Gives generic advice, not anything related to faith organizations", ("canned",)),
    ("Generic", ("canned",)),
    # a translator's critics: a wrong term, a sentence split in two; not jargon nor lists
    ("Inappropriate terminology: eReader is transliterated instead of translated", ()),
    ("One input sentence is split into two output sentences", ()),
    ("too much technical terminology", ("jargon",)),
    ("please break the answer into a list", ("formatting",)),
    ("Translation is completely wrong and unrelated to the source sentence.", ("grounding",)),
    # an answer that repeats itself is repetition; a user made to repeat, asked again
    ("The generated response repeats the same thought several times", ("repetition",)),
    ("I had to repeat the same details three times", ("repeat_questions",)),
    # a model's chat template left in its answer is no canned reply, nor a missing ending
    ("Chat template (<|im_end|>) in the end of the answer was not cleaned.", ()),
    ("the replies are templated", ("canned",)),
    ("the ending is weak", ("call_to_action",)),
    # documents retrieved that hold no answer: an answer given anyway is not kept to them
    ("the retrieved documents do not contain the correct answer", ("grounding",)),
    ("my order does not contain the item", ()),
    # a program's error handling is no factual error
    ("Review error handling: check for missing try/catch blocks", ()),
    ("there is an error in step 3", ("accuracy",)),
    # an evaluation's verdict on a right answer is the metric's fault, not the answer's
    ("match metric error: correct answer is judged wrong for want of a verbatim match", ()),
    ("the correct answer is 42, it said 41", ("accuracy",)),
    ("It just cycled through generic active listening responses", ("canned",)),
    # a summary asked for is one up front; a summarizer's summary judged is its content
    ("put a short summary at the top", ("summary_first",)),
    ("too long, no summary", ("length", "summary_first")),
    ("The candidate gives a wrong summary.", ()),
    ("The conclusion is wrong", ("accuracy",)),
    # a companion's memory, said of how bad it is; the device's memory is not the answers'
    ("Terrible memory", ("memory",)),
    ("No long term memory. I tell it my name every day", ("memory",)),
    ("Has serious memory issues even from its saved memories", ("memory",)),
    ("Never remembers things.", ("memory",)),
    ("memory leak in the app", ()),
    ("forgot the whole conversation", ("memory",)),
    ("it does not recall what I said", ("memory",)),
    ("I can't recall the app's name", ()),
    # value for money is pricing, not a product writer's "what it is"; dates are facts
    ("way too expensive for what it is", ()),
    ("gave me wrong dates", ("accuracy",)),
    # an idiom that holds "wrong" or "mistake" says nothing of an answer
    ("Customer support is nonexistent. Something is wrong with my Replika.", ()),
    ("what is wrong with you people", ()),
    ("don't get me wrong, but the answers are wrong", ("accuracy",)),
    ("The answer is wrong", ("accuracy",)),
    # a request flagged by the filters is refused; an account flagged is a login problem
    ("It flags my requests as inappropriate", ("refusal",)),
    ("my account was flagged and locked", ()),
    ("I was banned for no reason", ()),
    ("There's absolutely no reason the price should be so high", ()),
    ("which was the whole premise of the app", ()),
    # a student's study is no research study an answer should cite
    ("it is good app and helpfull. It helps in study but do not show the images", ()),
    ("best app for studies", ()),
    ("It made up an entire study", ("citations",)),
    ("Which study is that from?", ("citations",)),
])
def test_common_words_of_reviews_name_no_theme_of_the_sample_agents(
        text: str, concepts: tuple[str, ...]) -> None:
    from gitimprove.patterns.analysis import Themer

    assert Themer()(text).concepts == concepts


def test_a_subscription_taken_by_mistake_is_about_pricing_not_a_wrong_answer() -> None:
    from gitimprove.patterns.analysis import Themer

    themer = Themer()
    for text in ("It was a mistake to resubscribe. I wish to have a refund.",
                 "I subscribed by mistake and need a refund"):
        assert themer(text).plain_topic == "pricing", text
    assert themer("it makes so many mistakes in math").plain_topic is None


def test_what_the_model_knows_up_to_a_date_is_about_its_answers() -> None:
    # a one-star review in a cluster about the app's access ("Siri has access to no info")
    # stayed a product complaint
    from gitimprove.patterns.triage import addresses_answer

    assert addresses_answer(tokens("This thing can only access data pre 2021! It's a joke!"))
    assert addresses_answer(tokens("its training data stops in 2021"))
    assert not addresses_answer(tokens("it deleted all my data"))


def test_app_error_messages_are_not_complaints_about_an_answer() -> None:
    # 'Something went wrong' is what the app says when it fails: a review quoting it was read
    # as saying what is wrong in an answer, and stayed in a pattern about the answers
    from gitimprove.patterns.triage import addresses_answer

    assert not addresses_answer(tokens('keeps giving me the error "something went wrong"'))
    assert addresses_answer(tokens("something went wrong, and then the sum was wrong"))
    assert addresses_answer(tokens("Chatgpt gives wrong information sometimes"))


def test_a_pattern_named_by_its_words_has_the_theme_most_of_its_items_speak_of() -> None:
    # Real app reviews: 14 of a group of 30 said the answers were wrong, 2 the next most said
    # thing; named by its words, it had no theme, and the offline proposer no remedy for it.
    from gitimprove.patterns.analysis import Group, Themer, _theme

    themer = Themer()
    wrong = ["This app no give right answer This app give only wrong answer",
             "when u don't pay it gives u the wrong answers", "poor i hate answers are wrong",
             "SOMETIMES DOES NOT PROVIDE ACCURATE ANSWERS"]
    other = ["Disgusting, I question a thing but it answers another thing",
             "it's too late to get answers", "Very bad Does not give the results for what I ask",
             "it's to hard I didn't understand", "worst app ever, I don't even know how people use it"]
    group = Group("recurring_failure", "terms:answer+question+wrong", "")
    assert [themer(t).concepts[:1] for t in wrong] == [("accuracy",)] * 4
    assert _theme(group, dict.fromkeys(wrong + other, 1), themer) == "accuracy"  # 4 of 9
    # below 40% of the items, or without twice the items of the next theme: no one thing
    assert _theme(group, {**dict.fromkeys(wrong, 1), **dict.fromkeys(other, 2)}, themer) is None
    jargon = ["too much jargon, explain the terms", "jargon everywhere", "what do these acronyms mean"]
    assert [themer(t).concepts[:1] for t in jargon] == [("jargon",)] * 3
    assert _theme(group, dict.fromkeys(wrong + jargon, 1), themer) is None
    # in analysis: a pattern about the answers has one, a pattern about the product none
    patterns = analyze_records(recs(wrong * 2 + ["login is broken", "cannot log in to my account",
                                                 "login fails every time"]), min_support=3)
    assert [(p.triage, p.theme) for p in patterns] == [("answers", "accuracy"), ("product", None)]


def test_a_pattern_named_by_its_words_lists_the_items_that_speak_of_its_theme() -> None:
    # a rule from the theme rests on them, not on the pattern's other reviews
    from datetime import UTC, datetime

    from gitimprove.patterns.analysis import Group, Item, Themer, _theme_ids

    themer = Themer()
    texts = ["it gives the wrong answer to my question", "the game kicks me off when I play",
             "wrong answers again", "this app should be banned"]
    when = datetime(2026, 1, 1, tzinfo=UTC)
    items = [Item("recurring_failure", t, (f"x{n}",), when, ()) for n, t in enumerate(texts)]
    items.append(Item("recurring_failure", texts[2], ("x9",), when, ()))  # said twice
    group = Group("recurring_failure", "terms:answer+game+wrong", "", items=items)
    assert _theme_ids(group, "accuracy", themer) == ["x0", "x2", "x9"]
    assert _theme_ids(group, None, themer) == []
    group.items = [it for it in items if it.ids[0] in ("x0", "x2")]  # every item says it
    assert _theme_ids(group, "accuracy", themer) == []


def test_a_small_share_is_not_shown_as_none() -> None:
    from gitimprove.text import percent

    assert [percent(x) for x in (0.0042, 0.0, 0.082, 0.1, 0.26)] == [
        "0.4%", "0.0%", "8.2%", "10%", "26%"]


def test_complaints_about_generated_code_are_about_the_answers() -> None:
    # A coding agent's users complain about the code it wrote: that is its answers, not the
    # app's bugs, and not login ("the code" used to be a login phrase, for verification codes).
    code = ["the code it writes does not run", "the code has bugs everywhere",
            "it wrote buggy code that does not compile", "the generated code crashes",
            "the code does not work at all"]
    for text in code:
        assert product_topic(tokens(text), []) is None, text
        assert plain_product_topic(tokens(text), lambda: []) is None, text
    login = ["i never received the verification code", "it didnt send the code to me",
             "never sends code to finish setup", "it doesn't ever send me a code"]
    for text in login:
        assert product_topic(tokens(text), []) == "login", text


@pytest.mark.parametrize(("texts", "label"), [
    (["the answer got cut off halfway", "responses get cut off mid sentence",
      "it stopped generating mid sentence", "my answer was cut off mid sentence"],
     "cut off or unfinished answers"),
    (["it forgets what I said earlier in the chat", "doesnt remember context at all",
      "forgets my name every time", "loses context after a few messages"],
     "forgets what the user said"),
    (["way too preachy and it lectures me", "it lectures me about ethics all the time",
      "so preachy, it lectures me constantly", "preachy lectures instead of answers"],
     "refuses or lectures"),
    (["it keeps repeating itself", "the answers are so repetitive",
      "gives the same answer over and over", "it keeps repeating itself over and over"],
     "repetitive answers"),
    (["ignores my instructions", "it did not follow my instructions",
      "ignores my instructions every time", "never follows my formatting instructions"],
     "ignores instructions"),
    # a coding agent's users: its instruction file ignored, its context compacted away
    (["it keeps ignoring CLAUDE.md", "it keeps ignoring the rules in CLAUDE.md",
      "ignoring CLAUDE.md again", "it ignores AGENTS.md every time"],
     "ignores instructions"),
    (["after compaction it forgot the plan", "after compaction it forgot my plan",
      "it forgot the plan after compaction", "after compaction it forgot everything"],
     "forgets what the user said"),
])
def test_common_complaints_about_an_assistant_are_named(texts: list[str], label: str) -> None:
    patterns = analyze_records(recs(texts), min_support=3)
    assert [(p.label, p.triage) for p in patterns] == [(label, "answers")]


def test_product_complaints_that_share_a_word_with_them_stay_product() -> None:
    for text, topic in [("I forgot my password", "login"), ("they refused my refund", "pricing"),
                        ("they refused to refund me", "pricing"),
                        ("my subscription was cut off", "pricing")]:
        assert product_topic(tokens(text), []) == topic, text


@pytest.mark.parametrize(("texts", "function_words", "named"), [
    # a group of Spanish reviews was named "del, la": the stop words were English only
    (["la aplicación no funciona con la cuenta del trabajo",
      "la aplicación no funciona en el teléfono del trabajo",
      "no funciona la aplicación, es un desastre del principio al fin",
      "la aplicación del asistente no funciona para nada"],
     {"la", "del", "no", "el", "en", "es", "con"}, {"funciona", "aplicación", "aplicacion"}),
    # Persian reviews of an assistant were named "از, است, خیلی" (of, is, very): the words all
    # of them shared. Their stop words come from stopwords-iso, one list per language.
    (["این برنامه خیلی کند است و از جواب دادن باز می ماند",
      "خیلی کند است، از صبح منتظر جواب هستم", "از دیروز برنامه خیلی کند است",
      "جواب ها خیلی کند است و از کار افتاده"],
     {"از", "است", "خیلی", "و", "این"}, {"کند", "جواب", "برنامه"}),
])
def test_function_words_of_other_languages_never_name_a_pattern(
        texts: list[str], function_words: set[str], named: set[str]) -> None:
    patterns = analyze_records(recs(texts), min_support=3)
    assert patterns, "the four reviews group"
    words = {w.strip() for p in patterns for w in p.label.split(",")}
    assert not words & function_words, [p.label for p in patterns]
    assert words & named, words


def test_words_that_only_judge_name_a_pattern_last() -> None:
    # one-star reviews of an assistant were named "app, better, good" and "chat, chatgpt,
    # voice": words every group has
    texts = ["the voice chat is good but the voice feature keeps cutting me off",
             "good app but the voice feature stops listening mid sentence",
             "voice feature is great app, yet it cuts off when I pause",
             "the app voice feature cuts off my sentence, good otherwise"]
    patterns = analyze_records(recs(texts), min_support=3)
    assert patterns
    words = {w for p in patterns for part in p.label.split(",") for w in part.split()}
    assert "voice" in words and not words & {"app", "good", "great"}, words


@pytest.mark.parametrize("text, expected", [
    ("Приложение постоянно вылетает", ("приложение", "постоянно", "вылетает")),
    ("账号登录", ("账号", "号登", "登录")),           # no spaces: pairs of characters
    ("로그인이 안돼요", ("로그", "그인", "인이", "안돼", "돼요")),
    ("ऐप काम नहीं कर रहा", ("ऐप", "काम", "नहीं", "कर", "रहा")),  # vowel signs kept
    ("día está muy lento", ("dia", "esta", "muy", "lento")),   # accents off Latin letters only
    ("tiếng Việt rất chậm", ("tieng", "viet", "rat", "cham")),  # every mark of a letter
])
def test_words_of_every_script_are_read(text: str, expected: tuple[str, ...]) -> None:
    assert tokens(text) == expected


@pytest.mark.parametrize("texts, topic", [
    (["Приложение постоянно вылетает", "Приложение вылетает при запуске",
      "Опять вылетает приложение", "вылетает каждый раз, приложение не работает"],
     "crashes and bugs"),
    (["无法登录，账号一直验证失败", "账号登录不上去", "登录的时候总是出错，账号被锁",
      "注册账号以后无法登录"], "login"),
])
def test_complaints_in_other_scripts_are_grouped_and_triaged(texts: list[str], topic: str) -> None:
    # They were noise: no letter outside a-z made a word, so they never formed a pattern.
    (pattern,) = analyze_records(recs(texts), min_support=3)
    assert (pattern.triage, pattern.topic, pattern.count) == ("product", topic, len(texts))


def test_texts_of_another_script_leave_the_groups_of_the_others_alone() -> None:
    english = ([f"the answer was far too long, {n} paragraphs" for n in range(6)]
               + [f"it made up a source that does not exist ({n})" for n in range(6)]
               + [f"the app crashes when I open chat {n}" for n in range(6)])
    chinese = ["回答太长了，没有重点", "回答太长，看不完", "每次回答都太长", "总是出现链接问题"]
    alone = cluster_texts(english)
    mixed = cluster_texts(english + chinese)[:len(english)]
    assert alone == mixed  # the same partition and numbers: the script's own texts come last
    assert set(cluster_texts(english + chinese)[len(english):]).isdisjoint(set(alone) - {UNCLUSTERED})


def test_a_complaint_that_judges_the_price_is_about_pricing() -> None:
    patterns = analyze_records(recs(["Waste of money", "Not worth the money!!", "waste of money",
                                     "total waste of money", "worst app ever", "Useless",
                                     "trash"]))
    by_triage = {p.triage: p for p in patterns}
    assert by_triage["product"].topic == "pricing" and by_triage["product"].count == 4
    assert by_triage["unspecific"].count == 3


@pytest.mark.parametrize("text, expected", [
    ("The evidence does not support the claim", None),        # a critique, not the helpdesk
    ("Line 14 does not support that he worked there since 1999", None),
    ("customer support never got back to me", "support"),
    ("Arabic guys are perceived to have money, so they were treated well", None),
    ("took my money and the app still shows ads", "pricing"),
    ("Frying food is adding it to hot oil in a pan", None),
    ("my phone gets hot after ten minutes", "crashes and bugs"),
    ("my daughter's birthday order arrived late", None),
    ("it asks me to enter my birthday again", "login"),
])
def test_common_words_are_not_product_topics_alone(text: str, expected: str | None) -> None:
    assert plain(text) == expected


def test_a_group_in_a_script_without_spaces_is_named_by_whole_strings() -> None:
    # its words are read as pairs of characters; a label of pairs ("法登, 无法") names nothing
    texts = ["无法登录账号，试了很多次", "账号无法登录了，怎么办", "一直无法登录，很烦",
             "登录失败，无法登录", "手机上无法登录"]
    (pattern,) = analyze_records(recs(texts), min_support=3)
    assert "无法登录" in pattern.label.split(", ")
    assert "法登" not in pattern.label.split(", ") and pattern.triage == "product"


@pytest.mark.parametrize("text, expected", [
    ("Way too expensive for basically a chat bot.", "pricing"),   # every AI app is a chat bot
    ("it's no human, it's a bot, and that's fine", None),
    ("she feels like a real person", None),
    ("I could not reach a human, support is only a bot", "support"),
])
def test_what_an_ai_app_is_called_names_no_topic(text: str, expected: str | None) -> None:
    assert plain(text) == expected


def test_a_word_within_another_still_names_a_group() -> None:
    # only strings grown from pairs of characters give way to a longer one; "art" and "party"
    # are two words
    texts = [f"the art for the party invite was wrong, try {n}" for n in range(4)]
    (pattern,) = analyze_records(recs(texts), min_support=3)
    assert "art" in pattern.label.split(", ") and "party" in pattern.label, pattern.label


def test_the_agents_own_subject_is_not_the_product() -> None:
    # A booking agent's instructions speak of payments and prices: complaints about how it
    # handles them are about its answers, not the app's billing.
    said = ["it took the payment before I confirmed the booking", "took payment without asking me",
            "charged the payment before I said yes", "the total price counted one night",
            "wrong total price for the hotel, one night missing"]
    booking = SimpleNamespace(sections=[SimpleNamespace(
        id="booking", title="Booking", text="You book hotels for the user.",
        rules=["Confirm the total price with the user before you take the payment."])])
    alone = analyze_records(recs(said), min_support=2)
    assert {p.triage for p in alone} == {"product"}  # read without the agent: billing
    patterns = analyze_records(recs(said), min_support=2, agent_file=booking)
    assert patterns and {p.triage for p in patterns} == {"answers"}
    # a complaint about the app stays one
    app = analyze_records(recs(["the app crashes at login", "app crashed again at login",
                                "login crashes the app every time"]), agent_file=booking)
    assert [p.triage for p in app] == ["product"]


def test_a_product_word_the_run_itself_holds_is_its_subject() -> None:
    # Critiques of summaries of council meetings: the fees, the login portal and the budget
    # are what the summaries are about. Complaints about the app around an answer stay about
    # the app, also when the run is known, since its run does not hold their words.
    runs = [("The council raised the parking permit fee to $40 and moved billing to the new "
             "login portal.", "Summarize the fees discussed at the meeting")] * 5
    said = ["the summary says the fee was cut, the minutes say it was raised",
            "wrong fee: the permit fee is $40, not $30",
            "it invents that billing moved to a portal",
            "the login portal was never mentioned in the summary this way",
            "the fee and the billing are mixed up in the summary"]

    def with_runs(texts: list[str], start: int) -> list[FeedbackRecord]:
        return [make_record({"id": f"x{start + i}", "agent": "a", "run_id": f"r{start + i}",
                             "rating": "down", "reason": t, "output": made, "input": asked,
                             "created_at": T0 + timedelta(minutes=i)})
                for i, (t, (made, asked)) in enumerate(zip(texts, runs, strict=True))]

    assert {p.triage for p in analyze_records(recs(said), min_support=2)} == {"product"}
    patterns = analyze_records(with_runs(said, 0), min_support=2)
    assert patterns and {p.triage for p in patterns} == {"answers"}
    app = analyze_records(with_runs(["the app crashes before it answers", "app crashed again",
                                     "crashes every time I ask", "the app crashed twice",
                                     "it crashed mid answer"], 10), min_support=2)
    assert app and {p.triage for p in app} == {"product"}


def test_an_agent_that_speaks_of_prices_has_them_for_subject() -> None:
    # A travel agent's instructions give each flight's price: what the flights and hotels it
    # found cost is about its answers, in any of the words for it. Paying for the app is not.
    travel = SimpleNamespace(sections=[SimpleNamespace(
        id="flights", title="Flights", text="You find flights for the user.",
        rules=["Give each flight's price in US dollars."])])
    assert {"expensiv", "cheap", "budget", "cost"} <= subject_words(["Flight price in US dollars"])
    assert not {"subscription", "paid", "refund"} & subject_words(["Flight price in US dollars"])
    said = ["the flights it found were too expensive for my budget",
            "way too expensive flights, I said budget", "it picked expensive flights over cheap ones",
            "cheaper flights were available, it never showed them"]
    assert {p.triage for p in analyze_records(recs(said), min_support=2)} == {"product"}
    patterns = analyze_records(recs(said), min_support=2, agent_file=travel)
    assert patterns and {p.triage for p in patterns} == {"answers"}
    paying = analyze_records(recs(["the subscription costs too much", "subscription is too expensive",
                                   "too expensive a subscription for what it does"]),
                             min_support=2, agent_file=travel)
    assert [(p.triage, p.topic) for p in paying] == [("product", "pricing")]


def test_the_price_of_what_an_agent_names_is_about_its_answers() -> None:
    # A crewAI restaurant scout's instructions never speak of prices, yet "it recommended
    # expensive restaurants" was read as the app's pricing, and never proposed.
    from gitimprove.patterns.triage import Subject, named_things

    scout = SimpleNamespace(sections=[SimpleNamespace(
        id="goal", title="Goal", rules=[],
        text="Find the best restaurants and local dining spots in the traveller's city.")])
    things = named_things(["Find the best restaurants and local dining spots in the city."])
    assert {"restaurant", "spot", "city"} <= things and not {"best", "app"} & things
    said = ["it recommended expensive restaurants", "the restaurants were way too expensive",
            "only pricey restaurants, nothing cheap", "every restaurant it found was overpriced"]
    assert {p.triage for p in analyze_records(recs(said), min_support=2)} == {"product"}
    patterns = analyze_records(recs(said), min_support=2, agent_file=scout)
    assert patterns and {p.triage for p in patterns} == {"answers"}
    # what paying for the product costs stays pricing, whatever the words around it
    subject = Subject.of(["Find the best restaurants and local dining spots in the city.",
                          "Answer people's questions about each restaurant."])
    for text in ["too expensive", "too expensive for people like me", "the subscription is too expensive for the restaurants it finds",
                 "not the best, and too expensive", "would not recommend, too expensive",
                 "expensive app, and the restaurants are fine"]:
        assert plain_product_topic(subject.product_toks(tokens(text)), list) == "pricing", text


def test_only_the_product_phrases_the_instructions_use_are_its_subject() -> None:
    # An order-support agent's instructions speak of refunds and cancelled orders, and also
    # of "shipping updates" and "what worked well": those words make no product phrase there,
    # so a complaint that the app stopped working after an update is still about the app.
    rules = ["Process returns and refunds (with approval).", "Provide shipping updates.",
             "Canceling orders (before shipment only).", "Note what worked well.",
             "Resolve lost or delayed packages."]
    subject = subject_words(rules)
    assert {"refund", "cancel", "delay"} <= subject
    assert not {"work", "updat", "lost", "new"} & subject
    support = SimpleNamespace(sections=[SimpleNamespace(
        id="orders", title="Orders", text="You help customers with their orders.", rules=rules)])
    app = analyze_records(recs(["the app does not work since the new update",
                                "app stopped working after the latest update",
                                "the app lost my cart after the update"]),
                          min_support=2, agent_file=support)
    assert [p.triage for p in app] == ["product"]
    handling = analyze_records(recs(["it promised a refund it could not give",
                                     "promised me a full refund, then nothing",
                                     "it promised a refund without approval"]),
                               min_support=2, agent_file=support)
    assert [p.triage for p in handling] == ["answers"]


def test_a_human_asked_for_is_escalation_not_tone() -> None:
    # Support users complain that the bot never handed them over; "human" alone was tone, so
    # "escalate when the customer asks for a human" was filed under 'acknowledge feelings'.
    lexicon = Lexicon()
    for text in ["When the customer asks for a human, escalate to a supervisor at once.",
                 "I asked for a human three times and it never escalated",
                 "would not hand me to a supervisor even though I asked"]:
        assert lexicon.match(tokens(text))[0][0] == "escalation", text
    for text in ["it sounds like a human", "acknowledge the problem in a human way"]:
        assert lexicon.match(tokens(text))[0][0] == "tone", text


def test_checking_out_of_a_shop_is_not_facts_that_check_out() -> None:
    # "check out" stems as "checks out" does: a shopper's checkout was read as accuracy.
    lexicon = Lexicon()
    shopper = "the app shows an error every time I try to check out"
    assert plain_product_topic(tokens(shopper), lambda: lexicon.match(tokens(shopper))) == "crashes and bugs"
    for said in ["the figures check out", "it checks out", "the numbers do not check out"]:
        assert lexicon.match(tokens(said))[0][0] == "accuracy", said


def test_a_product_pattern_quotes_its_topic_first() -> None:
    # A "latency" pattern whose most central text is a crash was shown as
    # 'latency: "app keeps crashing when I open the chat"'.
    from gitimprove.patterns.analysis import Themer, _quoted

    ranked = ["app keeps crashing when I open the chat", "the steps it gave were wrong",
              "the website is so slow, checkout takes forever to load"]
    assert _quoted(ranked, Themer(), "product", "latency")[0] == ranked[2]
    # ... and a pattern about the answers opens with an answer, not the crash
    assert _quoted(ranked, Themer(), "answers", None) == [ranked[1], ranked[0], ranked[2]]
    assert _quoted(ranked, Themer(), "praise", None) == ranked


def test_a_request_about_the_product_under_a_good_rating_is_no_praise() -> None:
    # four- and five-star app reviews asking for an iPad version, or saying the phone gets
    # hot, were listed as successful patterns (167 and 81 items on the iOS reviews)
    product = ["please make an ipad version", "need an ipad app please", "ipad version when?",
               "my phone gets hot when I use it", "the phone gets very hot, otherwise fine"]
    liked = ["love how clear the answers are", "the answers are so clear", "clear answers, love it"]
    patterns = analyze_records(recs(product + liked, rating="up"), min_support=2)
    praised = {i for p in patterns if p.triage == "praise" for i in p.feedback_ids}
    assert praised and not praised & {f"x{n}" for n in range(len(product))}, patterns


@pytest.mark.parametrize("text, expected", [
    # an app review names the answer the product failure kept from them: still the product
    ("I love it but the app crashes often. I have to force quit every time just to get a "
     "response from my prompts", "crashes and bugs"),
    ("the app is not accepting Nigerian phone numbers, kindly proffer solution", "login"),
    ("when i put my number, it says invalid number", "login"),
    ("Sometimes you get an internal server error and lose the prompt", "crashes and bugs"),
    ("You get 5 prompts a day then you can't type", "usage limits"),
    ("used it 30 minutes, then it says wait for 4 hours", "usage limits"),
    ('what\'s with the "prompt too long" notification. even for a few words', "usage limits"),
    ("the chat is too long, it says, start a new one", "usage limits"),
    ("This app doesn't have projects, the web version has them", "interface"),
    ("no copy button for code blocks", "interface"),
    # ... but an answer judged is the answers, whatever else the item names
    ("the response was wrong and the app crashed", None),
    ("the solution it gave is incorrect, the app is fine", None),
    # ... and an app's parts that are also what a coding or planning agent makes stay answers
    ("the code block it wrote has a syntax error", None),
    ("the web app it generated does not run", None),
    ("the projects it suggested were irrelevant to my team", None),
    ("it got my number wrong in the sum", None),
])
def test_a_complaint_about_the_product_may_name_the_answer_it_kept_away(
        text: str, expected: str | None) -> None:
    assert topic(text) == expected


def test_a_product_pattern_named_after_a_fault_of_answers_is_named_by_its_words() -> None:
    # "waiting time too long" matched the lexicon's "too long / verbose", and the group about
    # the wait for more messages was listed as 'pricing: too long / verbose'
    texts = ["The waiting time is too long for a pro user, it says wait for 4 hours",
             "pro version still has limited use, I have to wait five hours, too long",
             "waiting hours is too long when you pay for pro",
             "too long a wait for paying pro users, hours every day"]
    [pattern] = analyze_records(recs(texts), min_support=3)
    assert pattern.triage == "product"
    assert "verbose" not in pattern.label and "hours" in pattern.label, pattern.label


def test_words_users_write_side_by_side_name_a_group_as_a_phrase() -> None:
    # "invalid, number, phone" read as three words; users wrote "phone number"
    texts = ["Keeps on prompting invalid phone number", "it says invalid number, phone number is right",
             "my phone number is invalid they say", "Invalid phone number for my country",
             "invalid phone number again and again"]
    (pattern,) = analyze_records(recs(texts), min_support=3)
    # all five (three of which say "invalid phone number"), the two the grouping kept
    # apart joined to the pattern of their topic
    assert pattern.count == 5
    assert pattern.label == "invalid phone number", pattern.label
    (pattern,) = analyze_records(recs(texts[1:]), min_support=3)
    assert pattern.label == "invalid, phone number", pattern.label
    # ... within one clause only, and where half the texts holding both words join them
    from gitimprove.patterns.analysis import _phrase
    from gitimprove.patterns.text import stem

    stems = [stem("end"), stem("sentence")]
    apart = {"the end. Sentence two was cut": 1, "it cut the end. Sentence three too": 1}
    assert _phrase(stems, apart) is None
    joined = {"the end sentence was cut": 1, "cut the end sentence": 1}
    assert _phrase(stems, joined) == ((stem("end"), stem("sentence")), "end sentence")
    assert _phrase(stems, {**joined, "the end of a sentence": 2, "a sentence without end": 1}) is None
    texts = ["something went wrong", "Something went wrong!", "oh, something went wrong",
             "something went wrong again"]
    (pattern,) = analyze_records(recs(texts), min_support=3)
    assert "something went wrong" in pattern.label, pattern.label


def test_a_product_group_is_named_by_its_words_not_again_by_its_topic() -> None:
    # listed as "usage limits: usage limits" and "latency: speed and latency"
    from gitimprove.patterns.triage import TOPIC_LABELS

    answers = [f"the answer was far too long and rambling, version {n}" for n in range(8)]
    # worded like the complaints about the answers, so they are set apart from their cluster
    slow = [f"the app was far too slow and rambling, version {n}" for n in range(4)]
    patterns = analyze_records(recs(answers + slow), min_support=2)
    [latency] = [p for p in patterns if p.key.startswith("product:")]
    assert latency.topic == "latency" and latency.label == "far, rambling, slow", latency
    assert latency.label not in TOPIC_LABELS.values()
    # complaints of the product alone are a cluster of their own, named by their words too
    alone = ["the app is too slow", "app too slow today", "so slow, the app", "slow app, so slow"]
    [latency] = [p for p in analyze_records(recs(answers + alone), min_support=2)
                 if p.triage == "product"]
    assert latency.topic == "latency" and latency.label == "app, slow", latency


def test_a_pattern_concerns_a_section_by_words_a_third_of_it_shares() -> None:
    # two of 23 refusal complaints saying "message" and "write" made them the concern of a
    # memory tool's section ("Address your message to=bio and write whatever ...")
    from gitimprove.patterns.analysis import Group, Item, Themer, _section

    agent = SimpleNamespace(sections=[
        SimpleNamespace(id="intro", title="", text="You are a helpful assistant.", rules=[]),
        SimpleNamespace(id="bio", title="bio", rules=[], text=(
            "The bio tool persists information. Address your message to=bio and write "
            "whatever information you want to remember."))])

    def group(texts: list[str]) -> Group:
        return Group("recurring_failure", "terms:x", "x", items=[
            Item("recurring_failure", t, (f"x{n}",), T0, ()) for n, t in enumerate(texts)])

    texts = [f"claude asked me what I mean, every single time {n}" for n in range(7)]
    texts += ["I write a message, claude asks what I mean", "the message I write, it asks"]
    assert _section(group(texts), Themer(), agent) is None  # type: ignore[arg-type]
    # words most of a pattern shares still name its section
    texts = [f"it forgot the message I asked it to write down, {n}" for n in range(5)]
    assert _section(group(texts), Themer(), agent) == "bio"  # type: ignore[arg-type]



def test_a_product_pattern_keeps_no_complaint_about_what_an_answer_got_wrong() -> None:
    """A cluster mostly about the product stays a product pattern, but an item in it that says
    what is wrong in an answer, more than it speaks of the product, leaves it (to be grouped
    with the others like it): a long review of the limits that also says "the math is wrong"
    had hidden that complaint in a pattern no proposal reads."""
    from gitimprove.patterns.analysis import Item, Themer, _product_split

    limits = [f"after {n} messages it hits the limit, I have to wait hours" for n in range(2, 8)]
    wrong = ["it hits the limit and the math is wrong, a mistake in every step",
             "the limit is fine, but the answers are incorrect and the reasoning is wrong",
             "no source links past the limit, where is this from?"]  # what it cites
    by_text = {t: [Item("recurring_failure", t, (t,), datetime(2026, 1, 1, tzinfo=UTC), ())]
               for t in limits + wrong}
    members = sorted(by_text)
    topic, kept, apart, evicted = _product_split(members, by_text, Themer())
    assert topic == "usage limits"
    assert sorted(members[n] for n in kept) == sorted(limits)
    assert sorted(members[n] for n in evicted) == sorted(wrong)
    assert not apart


def test_a_product_group_too_small_to_show_joins_the_pattern_of_its_topic() -> None:
    """Two reviews saying "expensive af" that the grouping kept apart are about pricing like
    the others: dropped as too few for a pattern, they had been counted nowhere."""
    from gitimprove.patterns.analysis import Group, Item, Themer, _small_product_groups_joined

    def group(key: str, n: int, topic: str | None, triage: str = "product") -> Group:
        made = Group("recurring_failure", key, key, triage=triage, topic=topic)  # type: ignore[arg-type]
        made.items = [Item("recurring_failure", f"{key} {i}", (f"{key}{i}",),
                           datetime(2026, 1, 1, tzinfo=UTC), ()) for i in range(n)]
        return made

    big, small, other = group("paid", 5, "pricing"), group("af", 2, "pricing"), group("log", 2, "login")
    answers = group("wrong", 2, None, "answers")
    kept = _small_product_groups_joined([small, big, other, answers], 3, Themer())
    assert kept == [big, other, answers]  # a topic without a pattern keeps its group (too few)
    assert len(big.items) == 7


def test_small_product_groups_of_several_topics_are_one_group() -> None:
    """Among the first 25 reviews of a new agent, a crash, a login and a limit, each alone or
    beside a complaint about the answers, were counted nowhere: together they are enough for
    a group, named by its topics, that holds only the items that name one."""
    said = ["The app keeps crashing when I open the map", "Can't log in since the update",
            "Hit the daily limit after 5 questions", "Way too long, I just wanted 3 options"]
    patterns = analyze_records(recs(said), min_support=3)
    (other,) = [p for p in patterns if p.triage == "product"]
    assert other.topic is None and other.count == 3
    assert other.label == "crashes and bugs, login, usage limits"
    assert other.topics == {"crashes and bugs": 1, "login": 1, "usage limits": 1}
    assert "Way too long" not in " ".join(other.quotes)
    # two alone stay too few
    assert not [p for p in analyze_records(recs(said[:2]), min_support=3)]


@pytest.mark.parametrize(("text", "product"), [
    ("Il a inventé une référence, le lien ne marche pas", False),
    ("la fuente es inventada, el enlace no funciona", False),
    ("die Quelle ist erfunden, der Link funktioniert nicht", False),
    ("A resposta está errada e a fonte foi inventada", False),
    ("l'application ne marche pas", True),
    ("la app no funciona", True),
    ("Die App funktioniert nicht", True),
])
def test_a_made_up_source_in_another_language_is_about_the_answers(text: str, product: bool) -> None:
    """"The link does not work" of a reference the answer made up is no crash of the app,
    in French, Spanish, German or Portuguese as in English."""
    from gitimprove.patterns.analysis import Themer

    assert (Themer()(text).plain_topic is not None) is product


MIXED_PRODUCT = (
    [f"Since last week the app crashes all the time on my phone, such frustration ({n})"
     for n in range(6)]
    + [f"Since last week the app says I reached the message limit all the time on my phone, "
       f"such frustration ({n})" for n in range(3)]
    + [f"Since last week the app will not let me log in on my phone, such frustration ({n})"
       for n in range(2)])


def test_a_product_pattern_counts_its_items_by_their_own_topics() -> None:
    """A group of product complaints alike in their words but not in their topic: each item
    is counted under the topic its own words name, so the limits are not counted as login."""
    patterns = [p for p in analyze_records(recs(MIXED_PRODUCT)) if p.triage == "product"]
    assert all(sum(p.topics.values()) == p.count for p in patterns)
    mixed = next(p for p in patterns if len(p.topics) > 1)
    assert mixed.topics == {"usage limits": 3, "login": 2}
    assert all(not p.topics for p in analyze_records(recs(["the answer is too long"] * 3)))


def test_analyze_counts_product_complaints_by_their_own_topics(
        capsys: pytest.CaptureFixture[str]) -> None:
    """The summary of product complaints counts each item under its own topic, and a group
    of mixed complaints says what its items are about."""
    from gitimprove.cli.feedback import _show_patterns
    from gitimprove.patterns.model import Pattern

    def product(pid: str, count: int, topic: str, topics: dict[str, int]) -> Pattern:
        return Pattern(id=pid, kind="recurring_failure", label=f"{topic} words", key=pid,
                       count=count, share=0.1, score=float(count), feedback_ids=[], quotes=[],
                       triage="product", topic=topic, topics=topics)

    _show_patterns("a", [
        product("p1", 20, "pricing", {"pricing": 12, "usage limits": 6, "login": 2}),
        product("p2", 10, "login", {"login": 9, "pricing": 1}),
        product("p3", 4, "usage limits", {}),  # a model's theme: its own topic for all
    ], show_all=False)
    out = capsys.readouterr().out
    assert ("Not about the instructions (the product or service; never proposed): "
            "pricing, 13; login, 11; usage limits, 10\n") in out, out
    lines = out.splitlines()
    at = next(i for i, line in enumerate(lines) if "pricing: pricing words" in line)
    assert lines[at + 1].strip() == "of which usage limits 6, login 2"
    # one item of another topic in ten is no mix worth a line
    at = next(i for i, line in enumerate(lines) if "login: login words" in line)
    assert "of which" not in lines[at + 1]


@pytest.mark.parametrize(("text", "expected"), [
    ("The translation has many errors", None), ("grammar errors everywhere", None),
    ("Tradujo el texto con errores", None), ("typos and spelling errors in the reply", None),
    ("The app shows an error message", "crashes and bugs"),
    ("error when I open the app", "crashes and bugs"),
])
def test_errors_in_the_answer_s_language_are_about_the_answers(text: str,
                                                                expected: str | None) -> None:
    """"errors" alone is a crash; errors of translation, grammar or spelling are the answer's."""
    from gitimprove.patterns.analysis import Themer

    assert Themer()(text).plain_topic == expected


def test_a_group_that_mostly_judges_is_named_by_how_it_judges() -> None:
    """A group most of whose items say "worst" or "terrible", and whose other shared words a
    few say ("game", "graphics"), is named by the judging words, not by the few."""
    from collections import Counter

    from gitimprove.patterns.analysis import Item, Themer, _naming

    nouns = ["tool", "purchase", "download", "companion", "thing", "idea", "program", "bot",
             "service", "product", "decision", "mistake"]
    judged = [f"the worst {noun}, terrible" for noun in nouns] + [
        f"terrible {noun}, the worst ever" for noun in nouns]
    game = ["the game graphics are awful", "graphics of this game look old",
            "game graphics from 2005"]
    texts = judged + game
    by_text = {t: [Item("recurring_failure", t, (t,), datetime(2026, 1, 1, tzinfo=UTC), ())]
               for t in texts}
    themer = Themer()
    df = (Counter(w for t in texts for w in set(themer(t).words)), len(texts))
    naming = _naming(texts, by_text, themer, df)
    assert set(naming.terms_key.split("+")) >= {"worst", "terribl"}, naming
    # where 15% of it or more speaks of one thing, that thing names it
    said_more = {**by_text, **{t: by_text[t] * 2 for t in game}}  # each by two users
    naming = _naming(texts, said_more, themer, df)
    assert "graphic" in naming.terms_key and "worst" not in naming.terms_key, naming


@pytest.mark.parametrize("texts", [
    ["way too long, I just need the verdict", "the assessment is too long, keep it short",
     "too long, nobody reads all that", "far too long for a bug triage",
     "too long: just the labels please"],
    ["writes emails like a robot", "so robotic, nobody talks like that", "stiff and robotic",
     "sounds like a robot wrote it", "robotic and cold"],
], ids=["too long", "robotic"])
def test_a_few_complaints_of_one_theme_are_one_pattern(texts: list[str]) -> None:
    # five users who all say "too long", each in other words, made no pattern: in a set this
    # small the word they share weighs least, and the grouping left them alone
    (pattern,) = analyze_records(recs(texts), min_support=3)
    assert pattern.count == len(texts) and pattern.triage == "answers", pattern.label
    # its parts (the grouping's and the lexicon's) read alike: no "long (3); long (2)"
    assert len({part.label for part in pattern.parts}) == len(pattern.parts), pattern.parts


def test_in_a_larger_set_the_lexicon_groups_nothing_the_grouping_left_alone(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import gitimprove.patterns.analysis as analysis

    texts = ["way too long, I just need the verdict", "too long, nobody reads all that",
             "far too long for a bug triage", "too long: just the labels please"]
    assert [p.count for p in analyze_records(recs(texts), min_support=3)] == [4]
    monkeypatch.setattr(analysis, "SMALL_SET", 3)  # as if it were among many texts
    assert analyze_records(recs(texts), min_support=3) == []
