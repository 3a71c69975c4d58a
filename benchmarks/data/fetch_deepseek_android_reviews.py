"""Convert the DeepSeek Android (Google Play) reviews (see :mod:`.sources`) into the benchmark's
JSONL.

    python -m benchmarks.data.fetch_deepseek_android_reviews PATH   # a clone, or the CSV itself

One line per review: ``hash`` (of its text), ``text``, ``rating`` (stars), ``date`` (always
``None``: the source kept no dates; its data was committed on 8 April 2025). The
source has two columns, ``content`` and ``score``. Its scrape asked Google Play for English
reviews, yet some are in other scripts (Arabic, Persian, Russian, Chinese, Burmese...): only
reviews written in the Latin alphabet are kept (at least 80% of their letters a-z; 735 are
dropped, and 144 with no letters at all, emoji only), which still leaves a few in other
Latin-script languages (Hinglish, Spanish, German, Malay). Empty texts are dropped and a text
said twice is kept once (its first rating). The hand labels in
``labels/deepseek_android_reviews.json`` are keyed by ``hash``.

The labelled sample: the one- and two-star reviews (6,700) in ``hash`` order, the first 360,
one theme each, read and labelled by hand before any analysis was run on the set (labelled
blind). A review with several complaints gets the one it is mostly about. Themes:

- server_busy: "the server is busy", the service down or overloaded, no answer at all (by
  far the most common complaint)
- not_working: crashes, freezes, errors other than a busy server, "doesn't work", a feature
  broken (search, the buttons)
- login: signing up or in, the e-mail code that never comes or has expired, an e-mail domain
  refused, having to sign in at all
- slow: slow answers, long "thinking", loading for ages
- images: pictures and files: uploads stuck or refused, images not read ("no text
  extracted"), no image generation
- features: another missing feature asked for (voice chat, read aloud, slides, links, more
  options)
- ui: the look and the handling of the app (dark mode, landscape mode, settings)
- privacy: personal data, spying, security, data stored in China, a malware pop-up
- region: not usable in the user's country
- refusal: censorship and slant: will not answer on China, Taiwan, Tiananmen, India's map or
  politics, "beyond my current scope", "biased"
- wrong_answers: wrong or made-up facts, poor or shallow answers, fails simple questions
- outdated: knowledge not up to date
- worse_than_chatgpt: a bare comparison: ChatGPT (or another AI) is better, little else said
- distrust: a copy of ChatGPT, not to be trusted (no data named)
- vague: a complaint with no reason ("bad", "worst ai", "useless", "fraud app", "overrated")
- other: a real complaint no other review in the sample shares (a message an hour, Swedish,
  repeating the command, "inappropriate words", a doctor's letter)
- noise: nothing to group (praise under one or two stars, text not about the app)
"""

from __future__ import annotations

import sys
from typing import Any

from .sources import convert_main, play_reviews

NAME = "deepseek_android_reviews"


def convert(raw: bytes) -> list[dict[str, Any]]:
    return play_reviews(raw)


def main(argv: list[str]) -> int:
    return convert_main(NAME, convert, argv, __doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
