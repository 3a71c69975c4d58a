"""Text normalisation for analysis: lower case, contractions, a light stemmer, stop words.

Deterministic and dependency-free. The stemmer only folds inflections (``sources`` ->
``sourc``, ``cited`` -> ``cit``, ``rambling`` -> ``rambl``) so that the lexicon's phrases and
the users' words meet; it is not a linguistic stemmer and does not need to be.
"""

from __future__ import annotations

import bisect
import html
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from functools import cache, lru_cache
from itertools import chain
from typing import cast

from gitimprove.text import ESCAPE_SEQUENCE, SELECTOR_RUN, marks_off_latin


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"',
                         "\u2013": "-", "\u2014": "-", "\u00a0": " "})
_TLDR = re.compile(r"\btl\s*[;:,.]?\s*dr\b")
_NT = re.compile(r"\b(ca|wo|do|does|did|is|are|was|were|could|should|would|have|has|had|must"
                 r"|need|might)n'?t\b")
_ELONGATED = re.compile(r"([a-z])\1{2,}")
# NOTE: letters and digits of any script: a complaint in Russian, Chinese or Hindi is a
# complaint, not noise. Text in scripts written without spaces (Chinese, Japanese, Korean's
# words with their particles, Thai) is read as overlapping pairs of characters, the usual
# way to index it without a dictionary: "账号登录" holds 账号, 号登 and 登录, so a phrase
# ("登录") meets it wherever it stands.
# The vowel signs and other marks of Thai, Lao, Tibetan, Myanmar and Khmer: a word goes on
# across them (they are no letters to \w).
_SE_ASIAN_MARKS = (r"\u0e31\u0e34-\u0e3a\u0e47-\u0e4e\u0eb1\u0eb4-\u0ebc\u0ec8-\u0ecd"
                   r"\u0f18\u0f19\u0f35\u0f37\u0f39\u0f3e\u0f3f\u0f71-\u0f84\u0f86\u0f87"
                   r"\u0f8d-\u0fbc\u0fc6\u102b-\u103e\u1056-\u1059\u105e-\u1060\u1062-\u1064"
                   r"\u1067-\u106d\u1071-\u1074\u1082-\u108d\u108f\u109a-\u109d\u17b4-\u17d3"
                   r"\u17dd")
_TOKEN = re.compile(r"(?:[^\W_]|[\u0300-\u036f\u0483-\u0489\u0591-\u05bd\u0610-\u061a"
                    r"\u064b-\u065f\u0670\u0900-\u0dff\u135d-\u135f" + _SE_ASIAN_MARKS + "])+")  # marks too
# Scripts written without spaces between words: Thai, Lao, Myanmar, Khmer, Chinese, Japanese
# and Korean (whose spaces come between phrases).
_UNSPACED = re.compile(r"[\u0e00-\u0eff\u1000-\u109f\u1100-\u11ff\u1780-\u17ff\u3040-\u30ff"
                       r"\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]+")
_CLUSTER = re.compile(r".[" + _SE_ASIAN_MARKS + "]*")
# Characters that format or hide text but are no letters: the unsafe table's invisible ones
# (bidi controls, zero-width space, tags, ...), the soft hyphen and the zero-width joiners.
_INVISIBLE = re.compile(r"[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064"
                        r"\u2066-\u2069\ufeff\U000e0000-\U000e007f\U000e0100-\U000e01ef]|" + SELECTOR_RUN)
# Cyrillic and Greek letters that look like Latin ones, in a word that has Latin letters too
# ("pаypal", "lоgin"): the word a reader sees, and the one a topic's phrase names.
_LOOKALIKES = str.maketrans("аеорсухіјѕԁԛԝοαρτνκιυ", "aeopcyxijsdqwoaptvkiu")
_MIXED_PAIR = r"[a-z][аеорсухіјѕԁԛԝοαρτνκιυ]|[аеорсухіјѕԁԛԝοαρτνκιυ][a-z]"
_MIXED_WORD = re.compile(rf"(?<!\w)\w*(?:{_MIXED_PAIR})\w*")  # from a word's start only
# NOTE: searched for alone first: the word around it, searched for from every place in a
# long word of Chinese, takes time in the square of its length
_MIXED = re.compile(_MIXED_PAIR)
_IZE = re.compile(r"(?<=[a-z]{3})iz(e|ed|es|ing|ation|ations)\b")

STOPWORDS = _words("""
a about above after again against all also am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further had
has have having he her here hers herself him himself his how i if in into is it its itself just
me my myself of off on once only or other our ours ourselves out over own same she should so some
such than that the their theirs them themselves then there these they this those through to too
under until up very was we were what when where which while who whom why will with would you your
yours yourself yourselves s d ll m re ve t please pls plz us let get got one thing really even
much many lot bit still again always every also way like make made said say says tell told
give gave want wanted need needs needed use used using know ok okay
not no never nothing more less
""")

# Function words of other languages feedback often comes in (Spanish, Portuguese, French,
# German, Italian, romanised Hindi): never a pattern's name ("del, la", "hai, ke, nahi").
# Only naming leaves them out; similarity and noise read every word. Words that are also
# English words ("die", "son", "come", "ai", "plus") are not here.
FOREIGN_FUNCTION_WORDS = _words("""
de del la las el los lo que en por para una un al se su sus como pero muy porque esta este
esto estos ya hay donde cuando todo nada mucho tambien otro yo mi tu es son fue ser
da do dos das em um uma com nao os ao pelo pela isso ela ele eles voce meu minha
le les des du et est dans pour pas sur aux avec il elle ils nous vous je mais ou ne sa ses
leur mon ma mes tres
der das und ist nicht ein eine einen dem des zu mit auf fur von sich ich du er sie wir aber
auch noch nur oder wenn dann sehr kein keine
il di della dei delle alla che non gli sono anche molto
hai ke ka ki nahi ko mein ye yeh kya aur bhi toh tha thi hain ho raha rha nhi nai kr kar
krta krti karta karti hua hui hoga diya liya wala wali
""")

# Words that carry no theme on their own: a text made only of these is noise.
GENERIC = _words("""
test testing tested asdf asdfgh qwerty xyz abc lol lmao rofl haha hah ok okay k meh hmm hm hmmm
good great nice fine cool thanks thank thx ty awesome amazing wow yes yeah yep no nope sure
bad awful terrible poor worse worst whatever interesting idk dunno hi hello hey ugh argh sigh
""")

# Words kept whole: their ending is no suffix ("morning"), or the stem means something else
# ("completely" is not "complete"; an answer's "reasoning" is not "for some reason"; "canned"
# replies are not "can", nor "scripted" ones a program's "script").
_NO_STRIP = _words("""
nothing something anything everything thing things bring during morning evening string spring
ring king sing wing this has is was its bus gas yes less unless across process analysis basis
news series species always perhaps various previous serious famous obvious minus plus status
bonus focus campus virus thus us ss ies completely reasoning canned scripted
""")
_PROTECT = frozenset({"not", "no", "to", "on", "in", "an", "as", "at", "it", "is"})


def normalize(text: str) -> str:
    """Lower case, HTML entities decoded (``&quot;`` is a quote, not the word ``quot``), NFKC,
    straight quotes, ``tl;dr`` -> ``tldr``, ``didn't`` -> ``did not``. Invisible characters
    and terminal escape sequences go: "war\u200branty" and "\x1b[31mwarranty" are "warranty",
    not "war, ranty" and "31mwarranty"."""
    if "&" in text:
        text = html.unescape(text)
    if "\x1b" in text or "\x9b" in text:
        text = ESCAPE_SEQUENCE.sub(" ", text)
    text = text.lower()
    if not text.isascii():
        text = _INVISIBLE.sub("", text)
        text = unicodedata.normalize("NFKD", text.translate(_QUOTES))
        # accents off Latin letters only (cliché -> cliche); then composed again, so that
        # Korean syllables, kana with their marks and Devanagari stay what they were
        text = unicodedata.normalize("NFC", marks_off_latin(text))
        if "\u0e4d\u0e32" in text:  # Thai ำ, which NFKD splits and NFC does not join again
            text = text.replace("\u0e4d\u0e32", "\u0e33")
        if _MIXED.search(text):  # "lоgin" with a Cyrillic о is "login"
            text = _MIXED_WORD.sub(lambda m: m[0].translate(_LOOKALIKES), text)
    # NOTE: each rewrite is tried only where its text can occur: analysis normalises every
    # distinct feedback text, and most need few of them.
    if "tl" in text:
        text = _TLDR.sub(" tldr ", text)
    if "'t" in text or "nt" in text or "cannot" in text:
        text = text.replace("can't", "can not").replace("won't", "will not").replace("cannot", "can not")
        text = _NT.sub(lambda m: m.group(1) + " not", text)
    if "iz" in text:
        text = _IZE.sub(lambda m: "is" + m.group(1), text)
    return _ELONGATED.sub(r"\1", text)


def folded(word: str) -> str:
    """A word as the embedding table knows it: full-width letters folded ("ｔｏｏ" is "too"),
    invisible characters out. Only those: the table knows "…" and "™" as they are written."""
    if word.isascii():
        return word
    word = _INVISIBLE.sub("", word)
    return _FULL_WIDTH.sub(lambda m: unicodedata.normalize("NFKC", m[0]), word)


_FULL_WIDTH = re.compile(r"[\uff01-\uff5e]+")  # the full-width forms of ASCII


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Fold plural, ``-ed``, ``-ing``, ``-ly`` and a final ``e``; digits become ``#``."""
    if word.isdigit():
        return "#"
    if len(word) <= 3 or word in _NO_STRIP:
        return word
    w = word
    if w.endswith("ies") and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    if w.endswith("eed"):
        pass
    elif w.endswith("ed") and len(w) >= 5 and _has_vowel(w[:-2]):
        w = w[:-2]
        w = _undouble(w)
    elif w.endswith("ing") and len(w) >= 6 and _has_vowel(w[:-3]):
        w = w[:-3]
        w = _undouble(w)
    elif w.endswith("ly") and len(w) >= 6:
        w = w[:-2]
    if w.endswith("e") and len(w) >= 4:
        w = w[:-1]
    if w in _PROTECT:
        return word
    return w


def _has_vowel(text: str) -> bool:
    return any(c in "aeiouy" for c in text)


def _undouble(w: str) -> str:
    if len(w) >= 4 and w[-1] == w[-2] and w[-1] not in "lsz":
        return w[:-1]
    return w


_WORD_TOKENS: dict[str, tuple[str, ...]] = {}
_WORD_CACHE_LIMIT = 200_000


def _word_tokens(word: str) -> tuple[str, ...]:
    hit = _WORD_TOKENS.get(word)
    if hit is None:
        if len(_WORD_TOKENS) >= _WORD_CACHE_LIMIT:
            _WORD_TOKENS.clear()
        hit = _WORD_TOKENS[word] = tuple(_split(_TOKEN.findall(normalize(word))))
    return hit


def _split(found: Sequence[str]) -> list[str]:
    """Stemmed tokens, with each run of a script written without spaces read as overlapping
    pairs of characters (see :data:`_TOKEN`)."""
    out: list[str] = []
    for tok in found:
        if tok.isascii() or not _UNSPACED.search(tok):
            out.append(stem(tok))
            continue
        at = 0
        for run in _UNSPACED.finditer(tok):
            if run.start() > at:
                out.append(stem(tok[at:run.start()]))
            chars = _CLUSTER.findall(run.group())  # a Thai letter keeps its marks
            out += (["".join(chars)] if len(chars) == 1 else
                    [chars[i] + chars[i + 1] for i in range(len(chars) - 1)])
            at = run.end()
        if at < len(tok):
            out.append(stem(tok[at:]))
    return out


def tokens(text: str) -> tuple[str, ...]:
    """Stemmed tokens of ``text``, stop words kept (phrases need them).

    Each whitespace-separated word is normalised and stemmed once, then remembered: what
    :func:`normalize` rewrites lies within a word, except ``tl; dr``, so the tokens of a text
    are its words' tokens, and analysing 100,000 texts costs about what their vocabulary does."""
    lowered = text.lower()
    if "tl" in lowered and _TLDR.search(lowered):
        return tuple(_split(_TOKEN.findall(normalize(text))))
    words = lowered.split()
    known = list(map(_WORD_TOKENS.get, words))  # NOTE: map and chain: no Python call per word
    if None in known:
        known = [_word_tokens(w) if hit is None else hit for w, hit in zip(words, known, strict=True)]
    return tuple(chain.from_iterable(cast("list[tuple[str, ...]]", known)))


class _PerToken(dict[str, bool]):
    """Token -> a test of it, worked out the first time the token is met: a text is filtered
    with ``filter`` and this dict's lookup, no Python call per token (analysis reads 100,000
    texts of a few thousand distinct tokens). Bounded like :data:`_WORD_TOKENS`."""

    def __init__(self, test: Callable[[str], bool]) -> None:
        super().__init__()
        self.test = test

    def __missing__(self, token: str) -> bool:
        if len(self) >= _WORD_CACHE_LIMIT:
            self.clear()
        found = self[token] = self.test(token)
        return found


def content(toks: tuple[str, ...]) -> list[str]:
    """Tokens that carry meaning: no stop words, no numbers, nothing shorter than 2 letters,
    nothing of marks alone (a flood of accents without a letter under them)."""
    return list(filter(_CONTENT.__getitem__, toks))


def _is_content(t: str) -> bool:
    return (t not in _STOP_STEMS and t != "#" and len(t) > 1
            and (t.isascii() or t.isalnum() or any(map(str.isalnum, t))))


_CONTENT = _PerToken(_is_content)


_STOP_STEMS = frozenset(STOPWORDS | {stem(w) for w in STOPWORDS})
_FOREIGN_STEMS = frozenset(FOREIGN_FUNCTION_WORDS | {stem(w) for w in FOREIGN_FUNCTION_WORDS})
_GENERIC_STEMS = frozenset(GENERIC | {stem(w) for w in GENERIC})
_MASH = re.compile(r"\A(?:[^aeiou]{4,}|(..+?)\1{2,}.?)\Z")


def is_fragment(token: str) -> bool:
    """Whether a token is a pair of characters of a script written without spaces (see
    :data:`_TOKEN`): a piece of a word, not a word to name a pattern by."""
    return not token.isascii() and _UNSPACED.fullmatch(token) is not None


def nameable(word: str) -> bool:
    """Whether a content stem may name a pattern: not a function word of another language
    (in Latin letters: :data:`FOREIGN_FUNCTION_WORDS`; in any other script: the stop words of
    the 58 languages of stopwords-iso, "از, است" in Persian, "না" in Bengali)."""
    return word not in _FOREIGN_STEMS and (word.isascii() or word not in _script_stopwords())


@cache
def _script_stopwords() -> frozenset[str]:
    """Stop words of every language stopwords-iso knows, as :func:`tokens` reads them, that
    are not in ASCII letters (read on first use: most feedback never needs it)."""
    import stopwordsiso

    found: set[str] = set()
    for word in stopwordsiso.stopwords(sorted(stopwordsiso.langs())):
        if script(word) != "latin":  # a Latin word is ASCII once its accents are off
            found.update(tokens(word))
    return frozenset(found)


def is_noise(toks: tuple[str, ...], words: Sequence[str] | None = None) -> bool:
    """Nothing to learn from: empty, only generic words (``test``, ``lol``, ``ok``), or mash.
    ``words``: ``content(toks)``, where the caller has it already."""
    if words is None:
        words = content(toks)
    if not words:
        return True
    return all(map(_NOISE_WORD.__getitem__, words))


_NOISE_WORD = _PerToken(lambda w: w in _GENERIC_STEMS or (w.isascii() and _MASH.match(w) is not None))


def forget() -> None:
    """Empty what this module remembers from one analysis to the next (each word's tokens,
    each token's tests, stems): a measure of an analysis from cold starts after it."""
    _WORD_TOKENS.clear()
    _CONTENT.clear()
    _NOISE_WORD.clear()
    stem.cache_clear()


# Words that judge without saying why ("useless", "trash"), and words for whatever is judged
# ("app", "service", "ever"): a negative text made only of these, and of generic words, gives
# no reason. Language-general, like GENERIC: no agent's subject is in them (with the commonest
# such words of reviews written in Hindi in Latin letters, and misspelt intensifiers).
JUDGEMENT = _words("""
bad awful terrible poor worse worst horrible horrid useless trash trashy garbage rubbish junk
crap crappy pathetic disappointing disappointed disappointment disgusting disgust hate hated
sucks suck sucked stupid dumb lame waste worthless fake annoying boring ridiculous nonsense
shit shitty bullshit wtf unhelpful stupidity awfull weak dangerous
bekar bekaar bakwas bakwaas ghatiya faltu
malo mala malisimo pesimo pesima basura inutil asco ruim pessimo horrivel lixo porcaria
nul nulle mauvais mauvaise inutile schlecht schrecklich mull nutzlos schifo brutto jelek buruk
kotu berbat rezalet
плохо плохой плохое ужасно ужасный ужасное отстой говно фигня бесполезно бесполезное
فاشل سيء سيئ سيئة زفت تافه بد بده افتضاح بکواس بیکار فضول बेकार बकवास घटिया খারাপ বাজে
垃圾 太差 很差 差劲 难用 最悪 ひどい 최악 별로 쓰레기 แย่ ห่วย
""")
# ... and words that judge well: under a negation ("not good", "do not like") they complain
# without a reason; on negative feedback without one ("good app", "best app" under one star)
# they give no reason either.
POSITIVE = _words("""
good great nice fine useful helpful worth recommend like love pleasant interesting interested
ok okay best better super excellent perfect amazing awesome wonderful fantastic brilliant cool
recomendo recomiendo recommande empfehlen
""")
SUBJECT = _words("""
app apps application ai bot chatbot chat service experience product thing program software
tool version ever totally completely absolutely simply extremely super highly quite rather
real honestly seriously literally star stars rating rate zero review at all now anymore
today day time money download downloaded verry realy vry bahut hai hay
banget sangat demais muito mucho sehr
aplicacion aplicativo aplicacao appli aplikasi uygulama приложение приложения 앱 アプリ 应用
ऐप تطبيق برنامه
""")
_JUDGEMENT_STEMS = frozenset(JUDGEMENT | {stem(w) for w in JUDGEMENT})
_POSITIVE_STEMS = frozenset(POSITIVE | {stem(w) for w in POSITIVE})
_SUBJECT_STEMS = frozenset(SUBJECT | {stem(w) for w in SUBJECT})
# a rating said in words: "1 star", "two stars", "zero stars"
_RATING_STEMS = frozenset(stem(w) for w in _words("""
star stars rating rate rated review zero one two three four five half
"""))
_NEGATIONS = frozenset(("not", "no", "never", "nothing"))  # as tokens() writes them
# Words that turn praise into a complaint: a contrast ("good but slow"), a comparison ("X is
# better than this"), a time that has passed ("was good before the update"), a wish ("good,
# needs more pictures"), a condition or a question.
_TURNS = frozenset(stem(w) for w in _words("""
but however though although except yet than before used was were until anymore now only if
when why how should could would wish hope want wanted need needs needed please pls plz add fix
improve update more less too can cannot
"""))
PRAISE_WORDS = 4  # at most this many content words in praise that gives no reason
# Words that praise, and words that complain or criticise, counted to read the leaning of
# feedback that came without a rating (a review site's export, critiques of answers).
_PRAISING = frozenset(stem(w) for w in _words("""
love loved loving amazing awesome excellent great good best wonderful fantastic brilliant
helpful useful recommend recommended thank thanks perfect incredible impressive impressed
happy glad enjoy enjoyed easy reliable superb outstanding invaluable lifesaver
""")) | _POSITIVE_STEMS
_CRITICAL = frozenset(stem(w) for w in _words("""
wrong incorrect error errors mistake mistakes fail fails failed failing missing miss missed
lack lacks lacking unnecessary irrelevant should shouldnt problem problems issue issues bug bugs
broken broke crash crashes slow unable cannot cant doesnt dont didnt wont isnt arent wasnt but
however although unfortunately sadly stopped stops refuse refuses refused
""")) | _JUDGEMENT_STEMS | _NEGATIONS
PRAISE_LEAD = 2  # praising words beyond the critical ones that make unrated feedback praise


_JUDGING_STEMS = _GENERIC_STEMS | _JUDGEMENT_STEMS | _POSITIVE_STEMS | _SUBJECT_STEMS


def judges(word: str) -> bool:
    """Whether a content stem only judges ("good", "worst") or names whatever is judged
    ("app", "service"): it names a pattern only when nothing else does."""
    return word in _JUDGING_STEMS


def judges_badly(word: str) -> bool:
    """Whether a content stem judges badly ("worst", "terrible", "useless", "waste")."""
    return word in _JUDGEMENT_STEMS


def is_unspecific(toks: tuple[str, ...], words: Sequence[str] | None = None) -> bool:
    """A complaint that gives no reason: only judging words ("useless", "worst", "not
    good", "good app"), generic words and words for whatever is judged ("app", "ever"). Read
    on negative feedback only: "worst app ever" and "not useful at all" say the user is
    unhappy, not what to change."""
    if words is None:
        words = content(toks)
    if not words:  # "not ok", "don't like": a judging word under a negation, all stop words
        return not _NEGATIONS.isdisjoint(toks) and not _POSITIVE_STEMS.isdisjoint(toks)
    judged = False  # NOTE: the words first: most texts have one that does not judge
    for w in words:
        if w in _JUDGEMENT_STEMS:
            judged = True
        elif not (w in _GENERIC_STEMS or w in _SUBJECT_STEMS or w in _POSITIVE_STEMS
                  or w in _RATING_STEMS
                  or w in _FOREIGN_STEMS  # "muy malo", "c'est nul", "não recomendo"
                  or (_MASH.match(w) if w.isascii() else w in _script_stopwords())):
            return False
    # "1 star", "two stars", "zero stars review": a rating said again in words
    return judged or not _POSITIVE_STEMS.isdisjoint(toks) or _RATING_STEMS.issuperset(words)


def praises_only(toks: tuple[str, ...], words: Sequence[str]) -> bool:
    """Short praise and nothing else ("Good help", "ChatGPT is the best app"): on negative
    feedback it says what the user liked, not what to change. Whatever turns it (see
    :data:`_TURNS`), negates it or judges badly makes it a complaint again; so does a
    problem the lexicon knows ("good app, answers are wrong"), which the caller checks."""
    return (0 < len(words) <= PRAISE_WORDS and not _POSITIVE_STEMS.isdisjoint(toks)
            and _TURNS.isdisjoint(toks) and _NEGATIONS.isdisjoint(toks)
            and _JUDGEMENT_STEMS.isdisjoint(words))


def plainly_praises(toks: tuple[str, ...]) -> bool:
    """Whether feedback given without a rating praises: :data:`PRAISE_LEAD` more words that
    praise ("great", "love", "helpful") than words that complain or criticise ("wrong",
    "not", "but", "useless"). A review site's five-star review is no complaint, whatever
    theme its words touch ("it replies fast", "the answers are accurate"); an expert's
    critique of an answer ("the calculation is wrong") is one."""
    praising = critical = 0
    for t in toks:
        if t in _PRAISING:
            praising += 1
        elif t in _CRITICAL:
            critical += 1
    return praising >= critical + PRAISE_LEAD


# Scripts by the first code point of their blocks (letters of other blocks count as Latin).
_SCRIPTS = ((0x0370, "greek"), (0x0400, "cyrillic"), (0x0530, "armenian"), (0x0590, "hebrew"),
            (0x0600, "arabic"), (0x0780, "latin"), (0x0900, "indic"), (0x0e00, "thai"),
            (0x0e80, "lao"), (0x0f00, "tibetan"), (0x1000, "myanmar"), (0x10a0, "georgian"),
            (0x1100, "hangul"), (0x1200, "ethiopic"), (0x13a0, "cherokee"),
            (0x1400, "canadian"), (0x1680, "latin"), (0x1780, "khmer"), (0x1800, "mongolian"),
            (0x18b0, "latin"), (0x2e80, "cjk"), (0xa000, "latin"), (0xac00, "hangul"),
            (0xd7b0, "latin"), (0xf900, "cjk"), (0xfb00, "latin"))
_STARTS = [start for start, _ in _SCRIPTS]
_NAMES = sorted({name for _, name in _SCRIPTS})
SCRIPT_CHARS = 2000


class _ScriptOf(dict[int, str | None]):
    """Code point -> its script's index in :data:`_NAMES` as one character (None for what is
    not a letter), worked out the first time a code point is met: :func:`script` reads a text
    with one ``str.translate`` and a ``str.count`` per script, no Python call per character."""

    def __missing__(self, point: int) -> str | None:
        if not chr(point).isalpha():
            found = None
        else:
            at = bisect.bisect_right(_STARTS, point) - 1
            found = chr(_NAMES.index("latin" if at < 0 else _SCRIPTS[at][1]))
        self[point] = found
        return found


_SCRIPT_OF = _ScriptOf()


def reads_as_english(toks: Sequence[str]) -> bool:
    """Whether a text's tokens read as English: unless the function words of one language
    written in Latin letters that feedback comes in (:data:`LATIN_LANGUAGES`, and romanised
    Hindi) are two or more of its distinct words and more than its English ones (see
    :func:`_latin_function_words`). A short text with one such word ("mal", "so bad") stays
    English, and so does a list of names."""
    return leaning(toks)[0]


def leaning(toks: Sequence[str]) -> tuple[bool, int]:
    """Whether a text's tokens read as English (:func:`reads_as_english`), and the language
    whose function words it has most of, if they are more than its English ones (an index
    into :data:`LATIN_LANGUAGES`, romanised Hindi last; the first of a tie), else -1: "Muy
    lento" reads as English, leaning to Spanish (see :func:`leans_to`)."""
    union, english, languages = _latin_function_words()
    if union.isdisjoint(toks):  # most English texts: one set test
        return True, -1
    said = set(toks)
    ours = len(said.intersection(english))
    if len(said.intersection(union)) <= ours:  # no one language can say more
        return True, -1
    counts = [len(said.intersection(words)) for words in languages]
    best = max(counts)
    return best < 2 or best <= ours, counts.index(best) if best > ours else -1


def plainly_english(toks: Sequence[str]) -> bool:
    """Whether a text's tokens have English function words, and more of them than of any
    other language's (see :func:`leaning`): "the app is too slow", not "crashes"."""
    _, english, languages = _latin_function_words()
    said = set(toks)
    ours = len(said.intersection(english))
    return ours > 0 and all(len(said.intersection(words)) < ours for words in languages)


def leans_to(toks: Sequence[str], language: int) -> bool:
    """Whether a text's tokens have as many function words of ``language`` (see
    :func:`leaning`) as English ones, or more: "Lento", "Traducción incorrecta" and "Muy
    lento" do for Spanish, "too long" does not. In a set of feedback mostly in that language,
    such a text is in it too (see :func:`gitimprove.patterns.analysis.set_language`)."""
    _, english, languages = _latin_function_words()
    said = set(toks)
    return len(said.intersection(languages[language])) >= len(said.intersection(english))


# Languages in Latin letters whose stop words (stopwords-iso) tell a text apart from English.
LATIN_LANGUAGES = ("ca", "da", "de", "es", "fr", "id", "it", "nl", "no", "pl", "pt", "ro", "sv",
                   "tr")


@cache
def _latin_function_words() -> tuple[frozenset[str], frozenset[str], tuple[frozenset[str], ...]]:
    """Tokens (as :func:`tokens` reads them, of two letters or more) of the function words of
    English, and of each of :data:`LATIN_LANGUAGES` and romanised Hindi
    (:data:`FOREIGN_FUNCTION_WORDS`), with their union. English's are stopwords-iso's and
    :data:`STOPWORDS`, less the foreign function words ("de", "la"); each other language's
    are its stopwords-iso list less English's ("so" is German too). Read on first use."""
    import stopwordsiso

    def read(words: Iterable[str]) -> frozenset[str]:
        return frozenset(t for word in words for t in tokens(word) if len(t) > 1)

    hindi = read(FOREIGN_FUNCTION_WORDS)
    english = read(stopwordsiso.stopwords("en") | STOPWORDS) - hindi
    languages = (*(read(stopwordsiso.stopwords(lang)) - english for lang in LATIN_LANGUAGES),
                 hindi)
    return frozenset().union(*languages), english, languages


def script(text: str) -> str:
    """The script most of ``text``'s letters (its first :data:`SCRIPT_CHARS`) are written in
    ("latin", "cjk", "cyrillic", ...): texts of different scripts are grouped apart (see
    :mod:`.grouping`), and a group is named against the texts of its own script."""
    if text.isascii():
        return "latin"
    seen = text[:SCRIPT_CHARS].translate(_SCRIPT_OF)  # a character per letter: its script
    # the most letters; a tie to the first name in alphabetical order, as the indices sort
    return _NAMES[ord(max(sorted(set(seen)), key=seen.count))] if seen else "latin"
