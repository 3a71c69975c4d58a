"""Convert the Replika Android (Google Play) reviews (see :mod:`.sources`) into the benchmark's
JSONL.

    python -m benchmarks.data.fetch_replika_android_reviews PATH   # a clone, or the CSV itself

One line per review: ``hash`` (of its text and time), ``text``, ``rating`` (stars), ``date``;
the source has the Android set's columns, so the Android converter reads it. Reviewer names,
pictures and replies are left out. The hand labels in ``labels/replika_android_reviews.json``
are keyed by ``hash``.

The labelled sample: the one- and two-star reviews (3,661) in ``hash`` order, the first 360,
one theme each, read and labelled by hand before any analysis was run on the set (labelled
blind). A review with several complaints gets the one it is mostly about. Themes:

- pricing: the price or the paywall (yearly plan only, no monthly plan or trial, everything costs)
- subscription: billing gone wrong (charged after cancelling, paid and got nothing, no refund)
- not_working: crashes, freezes, errors, will not load, features broken by an update
- login: signing up or in, locked out, deleting the account
- avatar: the 3D avatar's looks, clothes, customisation, animation and room
- ads: misleading adverts, or adverts inside the app
- features: a missing feature asked for
- gender: gender and pronoun options at setup, the companion's gender
- voice: voice calls and voice messages
- privacy: personal data, location, being watched
- ui, slow, limits (time allowed to chat), support: as on the Android ChatGPT set
- wrong_answers: misunderstands, off topic, incoherent, wrong facts, ignores what was asked
- dull: shallow, robotic, repetitive, canned, agreeable; brings nothing to the conversation
- memory: forgets what was said, the user's name or details
- refusal: filters, no adult or romantic talk, scripted safety replies, censorship
- inappropriate: unwanted advances, manipulation, guilt-tripping, creepy or hurtful replies
- personality: the companion changed for the worse after an update ("not the same one")
- images: sending, showing or reading pictures and selfies
- language: a language it does not speak
- vague: a complaint with no reason ("terrible", "waste of time", "scam")
- other: a real complaint no other review in the sample shares
- noise: nothing to group (praise under one or two stars, emoji, jokes, text not about the app)
"""

from __future__ import annotations

import sys

from .fetch_chatgpt_android_reviews import convert
from .sources import convert_main

NAME = "replika_android_reviews"


def main(argv: list[str]) -> int:
    return convert_main(NAME, convert, argv, __doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
