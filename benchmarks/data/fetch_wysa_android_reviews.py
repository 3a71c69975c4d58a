"""Convert the Wysa Android (Google Play) reviews (see :mod:`.sources`) into the benchmark's
JSONL.

    python -m benchmarks.data.fetch_wysa_android_reviews PATH   # a clone, or the CSV itself

One line per review: ``hash`` (of its text), ``text``, ``rating`` (stars), ``date`` (the
review's time as the source gives it, ``YYYY-MM-DD HH:MM:SS``). Wysa is an AI chatbot for
mental health (a penguin that talks the user through anxiety, low mood and sleep, with CBT
exercises, and human coaches at a price); the source scraped every Google Play review of it
(package ``bot.touchkin``, the scraper's default English / US store) from 1 January 2023 to
12 May 2025, with Google Play's columns (``content``, ``score``, ``at``...). Reviewer names,
pictures and replies are left out. Only reviews written in the Latin alphabet are kept (at
least 80% of their letters a-z, the DeepSeek set's rule; 45 are dropped), empty texts are
dropped and a text said twice is kept once (its first rating). The hand labels in
``labels/wysa_android_reviews.json`` are keyed by ``hash``.

The labelled sample: the one- and two-star reviews (426) in ``hash`` order, the first 360, one
theme each, read and labelled by hand before any analysis was run on the set (labelled blind).
A review with several complaints gets the one it is mostly about (the first said, when they
weigh the same). Themes:

- pricing: the price and the paywall (not free though it says so, everything locked, a trial
  that needs a card, used to be free), and the app pushing its paid coaches and therapists
  (by far the most common complaint)
- subscription: billing gone wrong (charged before or after the trial, cannot cancel, no
  refund, a subscription that will not move to another phone)
- not_working: crashes, thrown out of the app, will not start or download, a screen that does
  not respond, "no connection"
- slow: slow replies, the bot leaving the user waiting
- ui: the look and the handling of the app, hard to find one's way
- support: customer service that does not answer
- misunderstands: the bot does not understand what is said: replies off topic, ignores the
  user's words, answers or "stop", changes the subject; "dumb AI", "not smart"
- scripted: canned, preset, generic or robotic replies whatever is said, the same questions in
  a loop, only buttons to choose from, "not a real AI"
- crisis_mode: the safety mode: a word sets off crisis plans, helplines (of another country),
  calls to the authorities, or it keeps sending the user to a professional
- tone: the bot's manner: harsh, blaming, dismissive, patronising, uncaring, or cheerful in a
  "toxic positivity" way
- shallow_help: the help itself: basic CBT, generic advice, exercises and tasks pushed on the
  user instead of talking, nothing for serious or complex problems
- unhelpful: it did not help, or made the user feel worse, little else said
- not_human: a bot should not do this: wants a person, AI therapy is dystopian
- worse_than_chatgpt: a bare comparison: ChatGPT (or another AI) is better, little else said
- vague: a complaint with no reason ("bad", "pointless", "scam", "waste")
- other: a real complaint no other review in the sample shares (Play Points, privacy
  disclosure, notifications of sales, the meditation voice, no voice calls, the time of day,
  chats that end too soon, the age limit, Hindi, signing in, a "cloned" app, fake reviews)
- noise: nothing to group (praise under one or two stars, names, gibberish, text not about
  the app)
"""

from __future__ import annotations

import sys

from .sources import convert_main, timed_play_reviews

NAME = "wysa_android_reviews"


def main(argv: list[str]) -> int:
    return convert_main(NAME, timed_play_reviews, argv, __doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
