"""Convert the Youper Android (Google Play) reviews (see :mod:`.sources`) into the benchmark's
JSONL.

    python -m benchmarks.data.fetch_youper_android_reviews PATH   # a clone, or the CSV itself

One line per review: ``hash`` (of its text), ``text``, ``rating`` (stars), ``date`` (the
review's time as the source gives it, ``YYYY-MM-DD HH:MM:SS``). Youper is an AI chatbot for
mental health (it talks the user through moods and thoughts with CBT, tracks moods and runs
anxiety and depression screenings; since its redesigns it sells a subscription and paid
clinicians); the source scraped the newest 10,000 English Google Play reviews of it (package
``br.com.youper``, January 2019 - August 2025, the same scrape as the Replika set), with Google
Play's columns (``content``, ``score``, ``at``...). Reviewer names, pictures and replies are
left out. Only reviews written in the Latin alphabet are kept (at least 80% of their letters
a-z, the DeepSeek set's rule; 46 distinct texts are dropped), empty texts are dropped and a
text said twice is kept once (its first rating): 9,002 texts. The hand labels in
``labels/youper_android_reviews.json`` are keyed by ``hash``.

The labelled sample: the one- and two-star reviews (1,134) in ``hash`` order, the first 360,
one theme each, read and labelled by hand before any analysis was run on the set (labelled
blind). A review with several complaints gets the one it is mostly about (the first said,
when they weigh the same). Themes:

- pricing: the price and the paywall: everything locked behind premium since the updates
  (it used to be free), the chat, the screenings and the user's own history locked, no trial,
  a yearly plan only, the price told only after sign-up, prompts to subscribe at every step,
  paid therapists and prescribers pushed (by far the most common complaint)
- subscription: billing gone wrong (charged on a click or after cancelling, cancelling sends
  the Android user to the iOS form, no refund, a subscription not recognised or blocked when
  the price rose)
- limits: the free chat stops after one message or one conversation a day
- ads: pop-ups and adverts in the way
- not_working: crashes, will not open, load or download, blank or grey screens, bugs, the
  journal, moods and history wiped by an update or a lost account
- login: an account, a phone number or a Google account demanded; cannot register or stay
  signed in
- ui: the redesigned app: cluttered, confusing, slow to navigate, hard to find things; one
  emotion at a time, a choice that cannot be undone
- features: a feature removed: the open chat, mood logging and notes, the guided
  meditations, the explore tab; turned into online therapy
- privacy: personal data collected, the privacy policy, no trust that entries stay private
- region: not usable outside the US (a +1 phone number, no providers in the area)
- scripted: canned, preset, generic or robotic replies, the same questions and dialogue over
  and over, only a few answers to choose from, "not a real AI"
- misunderstands: the bot does not take in what was said (a message of self-harm answered
  with goals, words put in the user's mouth, typed text ignored)
- shallow_help: the help itself: simple tips, meditation and mindfulness pushed, reflection
  with no way to improve, too shallow for real illness
- unhelpful: it did not help, or made the user feel worse, little else said
- not_human: a bot should not do this: wants a real person, AI cannot replace therapy
- tone: the bot's manner: condescending, guilt-tripping when the user declines to pay
- ends_chat: the bot ends the conversation on its own, or it cannot be picked up again
- vague: a complaint with no reason ("useless", "terrible update", "what happened")
- other: a real complaint no other review in the sample shares (memory, voice input, the
  typing delay, copy-pasted replies to reviews, Spanish, medication by app, a bot's aside on
  entrepreneurs, a Harry Potter quote, fake reviews)
- noise: nothing to group (text not about the app, jokes, a review written because the app
  asked for one)
"""

from __future__ import annotations

import sys

from .sources import convert_main, timed_play_reviews

NAME = "youper_android_reviews"


def main(argv: list[str]) -> int:
    return convert_main(NAME, timed_play_reviews, argv, __doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
