"""Feedback outside the Latin script groups by its letters as well as by WordLlama's vectors
(``gitimprove.patterns.grouping._spelling``).

The complaints below are written for this test (four themes in Russian, three in Chinese),
not taken from any set the grouping was tuned on. Without the letters, the Russian ones
were one group: WordLlama's table was trained on English, and in Cyrillic every complaint
lies about as near every other."""

from __future__ import annotations

import numpy as np
import pytest

from gitimprove.patterns import grouping
from gitimprove.patterns.grouping import SPELLING_DIMS, UNCLUSTERED, cluster_texts, embedder
from gitimprove.patterns.quality import adjusted_rand_index

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
CHINESE = {  # written without spaces: each text is one "word"
    "long": ["回答太长了", "回答太长，请简短一点", "内容太长了，看不完"],
    "login": ["无法登录账号", "登录失败，账号有问题", "账号登录不了"],
    "sources": ["引用的来源是假的", "来源是编造的", "来源不存在，是假的"],
}


def _ari(themes: dict[str, list[str]]) -> float:
    texts = [t for said in themes.values() for t in said]
    truth = [theme for theme, said in themes.items() for _ in said]
    got = cluster_texts(texts)
    return adjusted_rand_index(truth, [g if g != UNCLUSTERED else f"alone-{i}"
                                       for i, g in enumerate(got)])


def test_russian_complaints_group_by_theme(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _ari(RUSSIAN) >= 0.8
    monkeypatch.setattr(grouping, "SPELLING_WEIGHT", 0.0)  # WordLlama's vectors alone
    assert _ari(RUSSIAN) < 0.2


def test_chinese_complaints_group_by_theme() -> None:
    assert _ari(CHINESE) >= 0.8


def test_latin_texts_are_embedded_as_before() -> None:
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
