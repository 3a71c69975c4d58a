"""Feedback outside the Latin script, or in Latin letters in another language than English,
groups by its letters as well as by WordLlama's vectors
(``gitimprove.patterns.grouping._spelling``).

The complaints below are written for this test (four themes in Russian, French and Spanish,
three in Chinese), not taken from any set the grouping was tuned on. Without the letters,
the Russian ones were one group: WordLlama's table was trained on English, and in Cyrillic
every complaint lies about as near every other; the French ones scored an ARI of 0.17."""

from __future__ import annotations

import numpy as np
import pytest

from gitimprove.patterns import grouping
from gitimprove.patterns.analysis import Themer, analyze_records, set_language
from gitimprove.patterns.grouping import SPELLING_DIMS, UNCLUSTERED, cluster_levels, embedder
from gitimprove.patterns.quality import adjusted_rand_index
from gitimprove.patterns.text import LATIN_LANGUAGES, leaning, leans_to, reads_as_english, tokens

from .test_triage import recs

RUSSIAN = {
    "long": ["Ответ слишком длинный", "Очень длинные ответы, читать невозможно",
             "Слишком длинно, сократите ответ", "Длинный ответ без сути"],
    "sources": ["Ссылки на источники выдуманы", "Источник не существует, ссылка выдуманная",
                "Выдуманные источники в ответе", "Придумал источник, которого нет"],
    "login": ["Не могу войти в аккаунт", "Вход в аккаунт не работает",
              "Не получается войти, аккаунт заблокирован", "Аккаунт не входит после обновления"],
    "translation": ["Перевод на английский неправильный", "Перевёл текст с ошибками",
                    "Плохой перевод, много ошибок перевода"],
}
FRENCH = {
    "long": ["La réponse est beaucoup trop longue", "Des réponses très longues, impossible à lire",
             "Trop long, raccourcissez la réponse", "Une longue réponse sans rien d'utile"],
    "sources": ["Les sources citées sont inventées", "La source n'existe pas, le lien est inventé",
                "Des références inventées dans la réponse",
                "Il a inventé une source qui n'existe pas"],
    "login": ["Impossible de me connecter à mon compte", "La connexion au compte ne marche pas",
              "Je n'arrive pas à me connecter, compte bloqué",
              "Mon compte ne se connecte plus depuis la mise à jour"],
    "translation": ["La traduction en anglais est fausse", "Il a traduit le texte avec des erreurs",
                    "Mauvaise traduction, plein d'erreurs de traduction"],
}
SPANISH = {
    "long": ["La respuesta es demasiado larga", "Respuestas muy largas, imposible de leer",
             "Demasiado largo, acorta la respuesta", "Una respuesta larga sin nada útil"],
    "sources": ["Las fuentes citadas son inventadas", "La fuente no existe, el enlace es inventado",
                "Referencias inventadas en la respuesta", "Inventó una fuente que no existe"],
    "login": ["No puedo iniciar sesión en mi cuenta", "El inicio de sesión no funciona",
              "No consigo entrar, cuenta bloqueada", "Mi cuenta no entra desde la actualización"],
    "translation": ["La traducción al inglés es incorrecta", "Tradujo el texto con errores",
                    "Mala traducción, muchos errores de traducción"],
}
# Short complaints, with one function word of their language or none: alone, each reads as
# English ("so bad" must), so among the longer ones above they are read in the set's language.
SHORT_SPANISH = {
    "long": ["Muy largo", "Demasiado texto", "Respuesta demasiado larga", "Larguísimo"],
    "sources": ["Fuentes falsas", "Enlaces inventados", "Citas inventadas"],
    "login": ["No puedo entrar", "Error al iniciar sesión", "Cuenta bloqueada"],
    "translation": ["Traducción incorrecta", "Mala traducción", "Traduce fatal"],
}
SHORT_FRENCH = {
    "long": ["Beaucoup trop long", "Trop de texte", "Réponse interminable"],
    "sources": ["Sources inventées", "Fausses références", "Liens inventés"],
    "login": ["Connexion impossible", "Compte bloqué", "Impossible de se connecter"],
    "translation": ["Traduction incorrecte", "Mauvaise traduction", "Traduction fausse"],
}
CHINESE = {  # written without spaces: each text is one "word"
    "long": ["回答太长了", "回答太长，请简短一点", "内容太长了，看不完"],
    "login": ["无法登录账号", "登录失败，账号有问题", "账号登录不了"],
    "sources": ["引用的来源是假的", "来源是编造的", "来源不存在，是假的"],
}


def _ari(themes: dict[str, list[str]], *, read: bool = False) -> float:
    """ARI of the clustering, each text's language read (``read``) or all taken as English."""
    texts = [t for said in themes.values() for t in said]
    truth = [theme for theme, said in themes.items() for _ in said]
    themer = Themer()
    got = cluster_levels(texts, foreign=[read and not themer(t).english for t in texts])[1]
    return adjusted_rand_index(truth, [g if g != UNCLUSTERED else f"alone-{i}"
                                       for i, g in enumerate(got)])


def test_russian_complaints_group_by_theme(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _ari(RUSSIAN) >= 0.8
    monkeypatch.setattr(grouping, "SPELLING_WEIGHT", 0.0)  # WordLlama's vectors alone
    assert _ari(RUSSIAN) < 0.2


def test_chinese_complaints_group_by_theme() -> None:
    assert _ari(CHINESE) >= 0.8


@pytest.mark.parametrize("themes", [FRENCH, SPANISH], ids=["french", "spanish"])
def test_complaints_in_other_latin_languages_group_by_theme(themes: dict[str, list[str]]) -> None:
    # a short text with one function word of its language ("Tradujo el texto con errores")
    # reads as English, as "so bad" and "mal" do
    assert sum(Themer()(t).english for said in themes.values() for t in said) <= 1
    assert _ari(themes, read=True) >= 0.8
    if themes is FRENCH:  # read as English, by WordLlama's vectors alone
        assert _ari(themes) < 0.3


@pytest.mark.parametrize(("themes", "short"), [(SPANISH, SHORT_SPANISH), (FRENCH, SHORT_FRENCH)],
                         ids=["spanish", "french"])
def test_short_texts_among_feedback_in_one_language_are_read_in_it(
        themes: dict[str, list[str]], short: dict[str, list[str]]) -> None:
    """Read as English, the short ones were clustered apart from the long ones about the same
    things (ARI 0.36 for the Spanish, 0.37 for the French); read in the set's language, they
    join them."""
    themer = Themer()
    joined = {theme: said + short[theme] for theme, said in themes.items()}
    texts = [t for said in joined.values() for t in said]
    assert sum(themer(t).english for said in short.values() for t in said) >= 8
    patterns = analyze_records(recs(texts))
    of = {i: p.id for p in patterns for i in p.feedback_ids}
    truth = [theme for theme, said in joined.items() for _ in said]
    assert adjusted_rand_index(truth, [of.get(f"x{i}", f"alone-{i}")
                                       for i in range(len(texts))]) >= 0.75
    # the same texts, each read alone
    language = set_language(list(map(themer, texts)))
    assert language is not None and LATIN_LANGUAGES[language] == ("es" if themes is SPANISH
                                                                   else "fr")
    alone = cluster_levels(texts, foreign=[not themer(t).english for t in texts])[1]
    assert adjusted_rand_index(truth, [g if g != UNCLUSTERED else f"alone-{i}"
                                       for i, g in enumerate(alone)]) < 0.5


def test_a_few_texts_in_another_language_leave_the_rest_english() -> None:
    """Among English feedback, "I love em" (Portuguese "em") and "Muy lento" stay as they read
    alone: a set is in another language only where a third of it plainly is."""
    texts = (["the answer is far too long", "it made up its sources", "I love em",
              "Muy lento", "la respuesta es muy larga", "no puedo iniciar sesión en mi cuenta",
              "el enlace no existe, es inventado"]
             + [f"the login page fails every time, case {n}" for n in range(6)])
    themer = Themer()
    assert set_language(list(map(themer, texts))) is None
    assert set_language(list(map(themer, texts[3:7]))) == LATIN_LANGUAGES.index("es")  # alone


def test_english_beside_as_much_spanish_stays_english() -> None:
    """In feedback of English and Spanish users alike, "crashes" and "great app" read as
    English, as they do alone: a set is read in another language only where it has more
    texts plainly in it than plainly in English."""
    spanish = [t for said in SPANISH.values() for t in said]
    english = [f"the answer is far too long and it {what}, {n}"
               for what in ("made up its sources", "ignores my question", "is slow")
               for n in range(6)]
    themer = Themer()
    short = ["crashes", "great app"]
    assert set_language(list(map(themer, [*spanish, *short]))) is not None
    assert set_language(list(map(themer, [*spanish, *english, *short]))) is None


@pytest.mark.parametrize(("text", "english"), [
    ("The answer is far too long", True), ("I do not like it", True), ("ChatGPT, Claude", True),
    ("", True), ("la app no funciona para nada", False), ("Das ist nicht hilfreich", False),
    ("yeh app kaam nahi karta", False), ("Trop long, la réponse", False),
    ("so bad", True), ("bad experience very bad", True), ("mal mal mal", True),
])
def test_what_reads_as_english(text: str, english: bool) -> None:
    assert reads_as_english(tokens(text)) is english


def test_what_a_text_leans_to() -> None:
    spanish = LATIN_LANGUAGES.index("es")
    assert leaning(tokens("Muy lento")) == (True, spanish)
    assert leaning(tokens("La respuesta es muy larga")) == (False, spanish)
    assert leaning(tokens("too long")) == (True, -1)
    assert leans_to(tokens("Traducción incorrecta"), spanish)  # no function word of either
    assert leans_to(tokens("Tradujo el texto con errores"), spanish)  # "el" and "con"
    assert not leans_to(tokens("too long"), spanish)


def test_english_and_other_languages_are_clustered_apart() -> None:
    """Each is a script of its own to the clustering (a lexicon concept may still name a
    cluster of each, and so make them one pattern: "too long / verbose")."""
    english = [f"the app saves my files in the wrong folder, {n} times now" for n in range(4)]
    french = [f"l'application range mes fichiers dans le mauvais dossier, {n} fois" for n in range(4)]
    themer = Themer()
    texts = english + french
    fine, merged = cluster_levels(texts, foreign=[not themer(t).english for t in texts])
    for labels in (fine, merged):
        assert not set(labels[:4]) & set(labels[4:]), labels
    assert len({label for label in merged if label != UNCLUSTERED}) == 2
    patterns = analyze_records(recs(texts))
    assert sorted(p.count for p in patterns) == [4, 4]


def test_english_texts_are_embedded_as_before() -> None:
    texts = ["the answer is too long", "it made up its sources"]
    plain = embedder().embed(texts)
    assert plain.shape == (2, embedder().table.shape[1])
    spelt = embedder().embed(texts, spelling=True)
    assert spelt.shape == (2, embedder().table.shape[1] + SPELLING_DIMS)
    # only the letters' half is added: the WordLlama half is the plain vector, scaled
    weight = np.sqrt(1 - grouping.SPELLING_WEIGHT)
    half = spelt[:, :plain.shape[1]]
    np.testing.assert_allclose(half / np.linalg.norm(half, axis=1, keepdims=True), plain,
                               atol=1e-5)
    assert np.all(np.linalg.norm(half, axis=1) <= weight + 1e-5)


@pytest.mark.parametrize("texts", [
    ["", "   ", "ответ"],                          # nothing to read beside a word
    ["", " "],                                     # no word at all
    ["\x02\x03", "a\x02b\x03c длинный", "\x03"],  # the marks the words are spelt between
    ["长" * 5000, "х", "😡😡 👎"],                 # a long run, one letter, emoji only
])
def test_any_text_is_spelt_into_unit_rows(texts: list[str]) -> None:
    vectors = embedder().embed(texts, spelling=True)
    assert vectors.shape == (len(texts), embedder().table.shape[1] + SPELLING_DIMS)
    assert np.all(np.isfinite(vectors))
    norms = np.linalg.norm(vectors, axis=1)
    assert np.all((np.abs(norms - 1) < 1e-5) | (norms == 0))
