"""Triage: is a pattern about the answers (instructions can change them), about the product or
service around them, or praise?

Complaints about usage limits, pricing, login, crashes, the app's interface, support, speed,
privacy or availability are real, but no edit of an agent's instructions fixes them: they
must not become proposals. Each item is matched against the phrases of the product topics
below and against the answer concepts of :mod:`.lexicon`; the stronger side wins. A pattern
is about the product when at least half of its items are, and its topic is the most common
one among them. Triage never decides which items group together (see :mod:`.grouping`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence

from gitimprove.patterns.lexicon import Concept, Lexicon, _c
from gitimprove.patterns.model import Triage

# NOTE: phrases are stemmed like the text, so a word whose stem is a common word never stands
# alone: "monthly" is "month" and "settings" is "set", and alone they would make every word
# problem about months and every "set of" about pricing or the interface.
PRODUCT_SHARE = 0.5  # share of a pattern's items about the product that makes it a product one
PLAIN_SCORE = 3      # words of product phrases that make one item plainly about the product

TOPICS: tuple[Concept, ...] = (
    _c("usage limits", "usage limits", "", "", "",
       """
       limit | limits | limited | limitation | message limit | message cap | cap | capped | quota
       too many messages | too many request | rate limit | ran out | run out | out of messages
       try again later | try again in | wait # hour | wait # hours | wait hours | # messages per
       # message every | only send | messages every | usage cap | usage limit | hit the limit
       reached the limit | reset | cool down | cooldown
       """),
    _c("pricing", "pricing and billing", "", "", "",
       """
       price | pricing | expensive | overpriced | cost | costs | pay | paid | paying | payment
       subscription | subscribe | subscribed | subscriber | billed | billing | charged | charge
       refund | money | dollar | dollars | plus subscription | premium | pro plan | free version
       free plan | free tier | cancel | cancelled | unsubscribe | rip off | ripoff | scam | worth the
       waste of money | in app purchase | purchase | per month | monthly fee | monthly plan
       monthly subscription | monthly payment | monthly charge | yearly plan | yearly subscription
       annual plan | annual subscription | # a month | # a year | month to month
       """),
    _c("login", "login and accounts", "", "", "",
       """
       login | log in | logged in | logging in | log on | sign in | signed in | sign up | signup
       register | registration | create an account | create account | account | accounts | password
       verification | verify | verifying | verification code | sms | phone number
       email | e mail | authenticate | authentication | authenticating | flagged | locked out
       google account | apple id | microsoft account | two factor | 2fa | birthday | date of birth
       send * code | send code | sends code | sent * code | get * code | got * code | receive * code
       received * code | wait for * code | code never | login code | sms code | security code
       oauth | auth error | authorization failed | can not log in | unable to log in
       can not login | unable to login
       """),
    _c("crashes and bugs", "crashes and app bugs", "", "", "",
       """
       crash | crashes | crashing | crashed | bug | bugs | buggy | glitch | glitches | glitchy
       error | errors | error message | not working | does not work | doesnt work | stopped working
       not load | will not load | does not load | would not load | will not open | not open | freeze
       freezes | froze | frozen | stuck | broken | something went wrong | went wrong | request failed
       network error | lost my chats | lost chats | history gone | chats disappeared | disappeared
       deleted my | lost my | lost all | not responding | unusable | keeps closing | black screen
       overheat | overheats | overheating | heats up | hot | battery | drain | drains
       """),
    _c("interface", "the app and its interface", "", "", "",
       """
       ui | interface | user interface | button | buttons | screen | dark mode | keyboard | scroll
       scrolling | font | layout | ipad | tablet | landscape | widget | notification | notifications
       copy and paste | can not copy | select text | voice mode | microphone | dictation | sidebar
       menu | settings menu | settings page | app settings | design | navigation | accessibility
       voiceover | zoom | ios # | android
       update broke | after the update | new update | latest update
       """),
    _c("support", "customer support", "", "", "",
       """
       support | customer service | customer support | no response from | contact them | contact
       help center | help desk | no reply | never replied | never responded | no human | chat bot
       support team | support ticket | ticket
       """),
    _c("latency", "speed and latency", "", "", "",
       """
       slow | slower | slowly | lag | lags | laggy | lagging | takes forever | forever to load
       loading | load time | speed | timeout | time out | timed out | too long to respond | delay
       """),
    _c("privacy", "privacy and personal data", "", "", "",
       """
       privacy | private data | personal data | personal info | personal information | tracking
       track | tracked | data collection | collect | collects | my data | spying | spy | invasive
       permissions | phone number | sell my data
       """),
    _c("availability", "availability (country, device)", "", "", "",
       """
       not available in | available in my country | my country | region | regions | vpn
       not supported in | our country | your country | ios 15 | ios 16 | older iphone | old iphone
       """),
)

# Words that address the answer itself: an item that critiques an answer's reasoning, its
# calculation or what it knows is about the answers even where it speaks of money, months or
# an account ("the candidate's calculation of the monthly payment is wrong", "paid for Plus and
# it still has no knowledge past 2021").
ANSWER_TALK = Lexicon((_c("answer talk", "", "", "", "", """
    answer | answers | answered | response | responses | reply | replies | output | outputs
    calculation | calculate | calculated | calculating | computation | arithmetic | math | equation
    step | steps | candidate | incorrect | incorrectly | wrong | wrongly | correct | correctly
    reasoning | reason | logic | logical | illogical | premise | hypothesis | conclusion | conclude
    explanation | explain | explains | mistake | mistaken | misunderstand | misunderstands
    misunderstood | assume | assumes | assumption | deduce | deduction | infer | inference
    contradict | contradicts | contradiction | the question | the context | the prompt
    knowledge | outdated | out of date | up to date | current events
    code it | generated code | generates code | generate code | write code | writes code
    wrote code | written code | writing code | buggy code | broken code | code does not
    code doesnt | code did not | code has | code is | code that | code was | compile | compiles
    compiling | compiler | syntax | the script | this script | snippet
    """),))

_TOPICS = Lexicon(TOPICS)
TOPIC_LABELS = {c.key: c.failure for c in TOPICS}


def product_topic(toks: tuple[str, ...], answers: Sequence[tuple[str, float]]) -> str | None:
    """The product topic an item's (stemmed) tokens are about, or None when they are about the
    answers or about nothing we know: product phrases must outweigh the answer concepts the
    lexicon found in them (``answers``, from :meth:`Lexicon.match`) and the words that address
    an answer (:data:`ANSWER_TALK`)."""
    product = _TOPICS.match(toks)
    if not product:
        return None
    about_answers = sum(score for _, score in answers) + sum(
        score for _, score in ANSWER_TALK.match(toks))
    if sum(score for _, score in product) > about_answers:
        return product[0][0]
    return None


# Words that name the product itself: a complaint that names the app or the service and one of
# its topics is about the product even where the topic's phrase is a common word ("slow").
PRODUCT_TALK = Lexicon((_c("product talk", "", "", "", "", """
    app | apps | application | the service | website | web site | site | platform | version
    update | updated | feature | features | play store | app store | download | downloaded
    install | installed | uninstall | uninstalled
    """),))


def mentions_product(toks: tuple[str, ...]) -> bool:
    """Whether any product phrase could match in ``toks`` (cheap; see :meth:`Lexicon.mentions`)."""
    return _TOPICS.mentions(toks)


def plain_product_topic(toks: tuple[str, ...],
                        answers: Callable[[], Sequence[tuple[str, float]]]) -> str | None:
    """The product topic of one item taken alone (not as part of a group that is about the
    product): stricter than :func:`product_topic`, since one item has no neighbours to vouch
    for it. Nothing in it may address an answer, the topic's phrases must weigh
    :data:`PLAIN_SCORE` (words matched) or stand beside a word that names the product ("one
    day in a month" is not about pricing, "very slow app" is about speed), and they must
    outweigh the answer concepts found in it (``answers()``, asked last: it costs most)."""
    if not _TOPICS.mentions(toks):
        return None
    product = _TOPICS.match(toks)
    if not product:
        return None
    topic, score = product[0]
    if score < PLAIN_SCORE and not PRODUCT_TALK.match(toks):
        return None
    if ANSWER_TALK.match(toks):
        return None
    if sum(s for _, s in product) < sum(s for _, s in answers()):
        return None
    return topic


def triage_of(topics: Iterable[str | None], *, praise: bool) -> tuple[Triage, str | None]:
    """The triage of a group from its items' product topics, and its topic if it is about
    the product."""
    if praise:
        return "praise", None
    return decide(list(topics))


def decide(topics: Sequence[str | None]) -> tuple[Triage, str | None]:
    if not topics:
        return "answers", None
    counted = Counter(t for t in topics if t)
    if sum(counted.values()) < PRODUCT_SHARE * len(topics):
        return "answers", None
    top = sorted(counted, key=lambda t: (-counted[t], t))[0]
    return "product", top
