"""Triage: is a pattern about the answers (instructions can change them), about the product or
service around them, or praise?

Complaints about usage limits, pricing, login, crashes, the app's interface, support, speed,
privacy, availability or advertising are real, but no edit of an agent's instructions fixes
them: they must not become proposals. Each item is matched against the phrases of the product
topics below and against the answer concepts of :mod:`.lexicon`; the stronger side wins. A
pattern is about the product when at least half of its items are, and its topic is the most
common one among them. Triage never decides which items group together (see :mod:`.grouping`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence

from gitimprove.dataclass import dataclass
from gitimprove.patterns.lexicon import Concept, Lexicon, _c
from gitimprove.patterns.model import Triage
from gitimprove.patterns.text import content, judges, tokens

# NOTE: phrases are stemmed like the text, so a word whose stem is a common word never stands
# alone: "monthly" is "month" and "settings" is "set", and alone they would make every word
# problem about months and every "set of" about pricing or the interface.
PRODUCT_SHARE = 0.5  # share of a pattern's items about the product that makes it a product one

TOPICS: tuple[Concept, ...] = (
    _c("usage limits", "usage limits", "", "", "",
       """
       limit | limits | limited | limitation | message limit | message cap | cap | capped | quota
       too many messages | too many request | rate limit | ran out | run out | out of messages
       try again later | try again in | wait # hour | wait # hours | wait hours | # messages per
       # message every | only send | messages every | usage cap | usage limit | hit the limit
       reached the limit | reset | cool down | cooldown
       # prompts a day | # prompts per day | # messages a day | # messages per day | # chats a day
       # questions a day | wait for # hours | wait # more hours | question limit | prompt limit
       chat limit | limit reached | message limits
       prompt too long | prompt is too long | prompts too long | prompt was too long
       conversation too long | conversation is too long | chat is too long | chat too long
       too long for this chat | context window | context limit | exceeds the context
       限制 | 上限 | 次数 | 制限 | 回数 | 제한 | 한도 | лимит | ограничение
       """),
    _c("pricing", "pricing and billing", "", "", "",
       """
       price | pricing | expensive | overpriced | cost | costs | pay | paid | paying | payment
       subscription | subscribe | subscribed | subscriber | billed | billing | charged | charge
       refund | my money | money back | waste of money | your money | money grab | cash grab
       money hungry | took money | takes money | took my money | for money | spend money | dollar | dollars | plus subscription | premium | pro plan | free version
       free plan | free tier | cancel | cancelled | unsubscribe | rip off | ripoff | scam | worth the
       waste of money | in app purchase | purchase | per month | monthly fee | monthly plan
       monthly subscription | monthly payment | monthly charge | yearly plan | yearly subscription
       annual plan | annual subscription | # a month | # a year | month to month
       paywall | paywalls | paywalled | pay wall | behind a paywall
       upgrade to pro | upgrade to premium | upgrade to plus | upgrading to pro | upgraded to pro
       upgrading to premium | upgraded to premium | pro version | pro user | pro account | paid version
       paid plan | paid account | # bucks | charge money | charging money | subscribed by mistake
       bought by mistake | paid by mistake | mistake to subscribe | mistake to resubscribe
       mistake to pay | mistake to buy | mistake to upgrade | mistakenly subscribed
       收费 | 付费 | 订阅 | 訂閱 | 价格 | 價格 | 太贵 | 退款 | 会员 | 會員 | 扣费 | 課金 | 料金 | 有料
       返金 | サブスク | 결제 | 구독 | 가격 | 환불 | 유료 | подписка | подписку | цена | платно
       платная | деньги | suscripcion | precio | pagar | caro | cobro | assinatura | preco
       cobranca | reembolso | abonnement | prix | payant | rembourse | kosten | bezahlen
       """),
    _c("login", "login and accounts", "", "", "",
       """
       login | log in | logged in | logging in | log on | sign in | signed in | sign up | signup
       register | registration | create an account | create account | account | accounts | password
       verification | verify | verifying | verification code | sms | phone number
       mobile number | put my number | enter my number | entered my number | number phone | otp
       one time password
       email | e mail | authenticate | authentication | authenticating | flagged | locked out
       google account | apple id | microsoft account | two factor | 2fa | date of birth
       enter my birthday | enter your birthday | age verification | verify my age
       send * code | send code | sends code | sent * code | get * code | got * code | receive * code
       received * code | wait for * code | code never | login code | sms code | security code
       code is never | code is not sent | code * expired | code is either sent | no code received
       no code sent | no code is sent | no code was sent | enter the code | the code it sent
       oauth | auth error | authorization failed | can not log in | unable to log in
       can not login | unable to login | log me out | logs me out | logged me out | logging me out
       logged out | sign me out | signs me out | signed me out | signed out
       登录 | 登陆 | 登入 | 账号 | 帐号 | 账户 | 帳號 | 帳戶 | 注册 | 註冊 | 验证码 | 驗證碼 | 手机号
       手機號 | ログイン | アカウント | 認証 | 로그인 | 계정 | 회원가입 | 인증 | войти | вход | аккаунт
       регистрация | зарегистрироваться | iniciar sesion | mi cuenta | la cuenta | crear cuenta
       crear una cuenta | contrasena | minha conta | criar conta | senha | connexion | mon compte
       mot de passe | anmelden | anmeldung | konto | passwort
       """),
    _c("crashes and bugs", "crashes and app bugs", "", "", "",
       """
       crash | crashes | crashing | crashed | bug | bugs | buggy | glitch | glitches | glitchy
       error | errors | error message | not working | does not work | doesnt work | stopped working
       not load | will not load | does not load | would not load | will not open | not open | freeze
       freezes | froze | frozen | stuck | broken | something went wrong | went wrong | request failed
       network error | lost my chats | lost chats | history gone | chats disappeared | disappeared
       deleted my | lost my | lost all | not responding | unusable | keeps closing | black screen
       overheat | overheats | overheating | heats up | heating up | gets hot | getting hot
       gets very hot | phone hot | phone is hot | battery | drain | drains
       server error | internal server | connection error | connectivity | network issue
       force quit | force close | maintenance | overloaded | over capacity | at capacity
       outage | downtime | service unavailable | servers are down | server is down
       server * busy | server issue | server issues | server problem | server problems
       server connection | connect to the server | connect to the servers | connect to server
       server * connect | unstable server | connection issue | connection issues
       connection problem | connection problems
       is always busy | are always busy | is mostly busy | always shows busy | shows busy
       stays busy | sever * busy | sever is down
       operation cannot be completed | cannot be completed at the moment
       闪退 | 閃退 | 崩溃 | 打不开 | 用不了 | 无法使用 | 無法使用 | 不能用 | 报错 | 出错 | 连接 | 連接
       网络 | 網路 | 卡住 | 卡死 | 发热 | 發熱 | 发烫 | 落ちる | 落ちます | クラッシュ | エラー | 起動しない
       開かない | 使えない | 오류 | 에러 | 먹통 | 튕겨 | 튕김 | 안돼요 | 안됨 | вылетает | ошибка
       не работает | зависает | глючит | не открывается | no funciona | se cierra | falla | fallo
       nao funciona | nao abre | trava | erro | ne marche pas | ne fonctionne pas
       funktioniert nicht | fehler | absturz | kaam nahi | kam nahi | nahi chal | nhi chal
       काम नहीं | नहीं चल
       """),
    _c("interface", "the app and its interface", "", "", "",
       """
       ui | interface | user interface | button | buttons | screen | dark mode | keyboard | scroll
       scrolling | font | layout | ipad | tablet | landscape | widget | notification | notifications
       copy and paste | can not copy | select text | voice mode | microphone | dictation | sidebar
       voice to text | speech to text | text to speech | voice chat | voice feature | voice input
       voice option | voice assistant | read aloud | volume
       menu | settings menu | settings page | app settings | design | navigation | accessibility
       voiceover | zoom | ios # | android
       web version | browser version | desktop version | pwa | the website has | than the website
       compared to the website | copy button | missing features | lacks features | lacking features
       update broke | after the update | new update | latest update
       界面 | 按钮 | 按鈕 | 字体 | 键盘 | 鍵盤 | ボタン | 画面 | 화면 | 버튼 | интерфейс | кнопка
       interfaz | boton | botao
       """),
    _c("support", "customer support", "", "", "",
       """
       customer service | customer support | no response from | contact them | help center
       help desk | no reply | never replied | never responded | support team | no human support
       talk to a human | speak to a human | reach a human
       support ticket | ticket | contact support | tech support | technical support | support staff
       support agent | support email | their support | app support | emailed support
       reached out to support | contacted support | the support team | support is | support never
       support does not | support did not | no customer support
       客服 | サポート | 고객센터 | поддержка | soporte | suporte | kundendienst
       """),
    _c("latency", "speed and latency", "", "", "",
       """
       slow | slower | slowly | lag | lags | laggy | lagging | takes forever | forever to load
       takes so much time | take so much time | taking so much time | takes too much time
       take too much time | taking too much time | takes a long time | take a long time
       loading | load time | speed | timeout | time out | timed out | too long to respond | delay
       太慢 | 很慢 | 好慢 | 卡顿 | 卡頓 | 遅い | 느려 | 느림 | медленно | тормозит | lento | lenta
       demora | langsam
       """),
    _c("privacy", "privacy and personal data", "", "", "",
       """
       privacy | private data | personal data | personal info | personal information | tracking
       track | tracked | data collection | collect | collects | my data | spying | spy | invasive
       permissions | phone number | sell my data
       隐私 | 隱私 | プライバシー | 개인정보 | конфиденциальность | privacidad | privacidade
       datenschutz
       """),
    _c("availability", "availability (country, device)", "", "", "",
       """
       not available in | available in my country | my country | region | regions | vpn
       not supported in | our country | your country | ios 15 | ios 16 | older iphone | old iphone
       中国 | 中國 | 大陆 | 大陸 | 国内 | 國內 | 地区 | 地區 | 不支持 | 翻墙 | 国区 | 在日本 | 한국에서
       в россии | недоступен | недоступно | no disponible | nao disponivel | indisponivel
       """),
    # what the app shows and promises besides answers: not "ad" (the year's AD), not
    # "commercial" (commercial use)
    _c("advertising", "ads and advertising", "", "", "",
       """
       ads | advert | adverts | advertising | advertisement | advertisements | advertised
       advertises | false advertising | falsely advertised | not as advertised | as advertised
       misleading ads | pop up ads | popup ads | too many ads | full of ads
       """),
)

# Words that address the answer itself: an item that critiques an answer's reasoning, its
# calculation or what it knows is about the answers even where it speaks of money, months or
# an account ("the candidate's calculation of the monthly payment is wrong", "paid for Plus and
# it still has no knowledge past 2021").
ANSWER_TALK = Lexicon((_c("answer talk", "", "", "", "", """
    calculation | calculate | calculated | calculating | computation | arithmetic | math | equation
    step | steps | candidate | incorrect | incorrectly | wrong | wrongly | correct | correctly
    reasoning | logic | logical | illogical | premise | hypothesis | conclusion | conclude
    explanation | explain | explains | mistake | mistaken | misunderstand | misunderstands
    misunderstood | assume | assumes | assumption | deduce | deduction | infer | inference
    contradict | contradicts | contradiction | the question | the context
    knowledge | outdated | out of date | up to date | current events | training data | cutoff
    data pre | data up to | information up to | info up to | data until | information until
    code it | generated code | generates code | generate code | write code | writes code
    wrote code | written code | writing code | buggy code | broken code | code does not
    code doesnt | code did not | code has | code is | code that | code was | compile | compiles
    compiling | compiler | syntax | the script | this script | snippet
    problem statement | the claim | evidence | support that | supports that
    translation | translations | translate | translated | translates | translating | grammar
    grammatical | spelling | misspelled | misspelt | typo | typos | punctuation | traduccion
    traducir | tradujo | traduce | traduction | traduire | traduit | traducao | traduziu
    traduz | traduzione | ubersetzung | ubersetzt
    source link | source links | citation | citations | cite | cites | cited | cite its sources
    support the claim | supports the claim | supported by the | not supported by
    回答 | 答案 | 答え | 답변 | 대답 | ответ | ответы | respuesta | respuestas | resposta
    respostas | reponse | reponses | antwort | antworten
    reference | references | referencia | referencias | fuente | fuentes | fonte | fontes
    quelle | quellen | invente | inventee | inventees | inventado | inventada | inventou
    erfunden | incorrecte | incorrecto | incorrecta | incorreto | incorreta | equivocado
    errado | errada | falsch | falsche
    """),))
# Words that only name an answer: they weigh half as much, since a complaint about the product
# names what it stopped ("the app crashes ... just to get a response from my prompts").
ANSWER_NOUNS = Lexicon((_c("answer nouns", "", "", "", "", """
    answer | answers | answered | response | responses | reply | replies | output | outputs
    solution | the prompt
    """),))
NOUN_WEIGHT = 0.5

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
    about_answers = sum(score for _, score in answers) + _talk(toks)
    if sum(score for _, score in product) > about_answers:
        return product[0][0]
    return None


def _talk(toks: tuple[str, ...]) -> float:
    """How much ``toks`` address an answer: :data:`ANSWER_TALK`, and its nouns at half weight."""
    return (sum(score for _, score in ANSWER_TALK.match_outside(toks, _TOPICS))
            + NOUN_WEIGHT * sum(score for _, score in ANSWER_NOUNS.match_outside(toks, _TOPICS)))


def addresses_answer(toks: tuple[str, ...]) -> bool:
    """Whether ``toks`` say what is wrong in an answer (:data:`ANSWER_TALK`: "wrong",
    "mistake", "explain", its reasoning or its code), not merely name one. Such words within
    a product phrase say nothing of an answer: "wrong" in the app's "something went wrong"."""
    return ANSWER_TALK.mentions(toks) and bool(ANSWER_TALK.match_outside(toks, _TOPICS))


def subject_words(texts: Iterable[str]) -> frozenset[str]:
    """The words of product topics' phrases that an agent's own instructions use (``texts``:
    its sections' titles, text and rules): the agent's subject, not the product around it. A
    booking agent's instructions speak of payments and prices, a support agent's of accounts
    and refunds: "took the payment before I confirmed" is a complaint about its answers.

    Only a word of a phrase that matches counts: "shipping updates" and "note what worked well"
    make neither "after the update" nor "not working" the agent's subject, so "the app does
    not work since the new update" is still about the app."""
    found: set[str] = set()
    for text in texts:
        found.update(_TOPICS.matched_words(tokens(text)))
    if not _PRICES.isdisjoint(found):
        found |= _PRICES
    return frozenset(content(tuple(sorted(found))))


# The words of what things cost, as one family: an agent whose instructions speak of flight
# prices or of costs speaks of what things cost, so "the hotels were too expensive" and
# "cheaper options" are about its answers too. Not what paying for the product is called
# ("subscription", "paid", "refund"): those stay about the product.
_PRICES = frozenset(t for word in (
    "price", "prices", "priced", "pricing", "pricey", "overpriced", "expensive", "cheap",
    "cheaper", "cheapest", "cost", "costs", "costly", "budget", "affordable", "dollar",
    "dollars") for t in tokens(word))


# What a product is called: a price word beside one is the product's price ("an expensive
# subscription", "a cheaper app").
_PRODUCT_NOUNS = frozenset(t for word in (
    "app", "apps", "application", "subscription", "plan", "plans", "version", "tier", "service",
    "membership", "premium", "pro", "plus", "account", "ai", "chatbot", "bot", "tool", "model",
    "assistant", "product", "software", "platform", "alternative", "alternatives", "competitor",
    "competitors", "month", "monthly", "year", "yearly") for t in tokens(word))
_TOPIC_WORDS = frozenset(t for c in TOPICS for phrase in c.phrases for t in tokens(phrase))
THING_WINDOW = 4  # words between a price word and the thing it is the price of, at most


@dataclass(frozen=True)
class Subject:
    """What an agent's own instructions speak of (see :func:`subject_words` and
    :func:`named_things`): read as about its answers, never the product."""

    words: frozenset[str] = frozenset()
    things: frozenset[str] = frozenset()

    @classmethod
    def of(cls, texts: Iterable[str]) -> Subject:
        said = list(texts)
        return cls(subject_words(said), named_things(said))

    def product_toks(self, toks: tuple[str, ...]) -> tuple[str, ...]:
        """The tokens product topics are read in: the agent's subject words made ``""``, so
        no phrase matches through them, and so is each price word that stands beside a thing
        the agent names and no name of the product: "it picked expensive restaurants" and
        "the hotels were too pricey" speak of the answers, "an expensive app" of the product."""
        if self.things and not _PRICES.isdisjoint(toks):
            toks = _things_priced_out(toks, self.things)
        if self.words and not self.words.isdisjoint(toks):
            toks = tuple("" if t in self.words else t for t in toks)
        return toks


def named_things(texts: Iterable[str]) -> frozenset[str]:
    """The words an agent's instructions (``texts``) name what it deals in by ("restaurants",
    "flights"), with what any agent's answers name ("suggestions", "places"): their content
    words, less those of product phrases, of prices and of what a product is called, and
    words that judge ("best": "not the best, and too expensive")."""
    found: set[str] = set()
    for text in texts:
        found.update(content(tokens(text)))
    named = {w for w in found - _TOPIC_WORDS - _PRICES - _PRODUCT_NOUNS - _NO_THINGS
             if not judges(w)}
    return frozenset(named | _ANSWER_THINGS) if named else frozenset()


# Words instructions use that name no thing with a price: "too expensive for people like me"
# and "expensive for 5 answers" are about paying for the product. (Most such words are in
# product phrases already: user, customer, message, question, day, time, help, data.)
_NO_THINGS = frozenset(t for word in (
    "people", "person", "someone", "anyone", "everyone", "thing", "things", "way", "lot",
    "agent", "answer", "answers", "response", "responses", "output", "outputs", "solution",
    "request", "requests", "task", "tasks", "prompt", "prompts") for t in tokens(word))
# What any agent's answers name, whatever it deals in: "too pricey suggestions", "how
# expensive the places are".
_ANSWER_THINGS = frozenset(t for word in (
    "suggestion", "suggestions", "recommendation", "recommendations", "place", "places", "pick",
    "picks") for t in tokens(word))


def _things_priced_out(toks: tuple[str, ...], things: frozenset[str]) -> tuple[str, ...]:
    """``toks`` with each price word within :data:`THING_WINDOW` words of one of ``things``,
    and of no name of the product, made ``""``."""
    out = list(toks)
    for i, tok in enumerate(toks):
        if tok in _PRICES:
            near = toks[max(0, i - THING_WINDOW):i] + toks[i + 1:i + 1 + THING_WINDOW]
            if not things.isdisjoint(near) and _PRODUCT_NOUNS.isdisjoint(near):
                out[i] = ""
    return tuple(out)


RUN_CHARS = 2000  # of each of a run's texts, read for the words it holds (see outside_run)


def outside_run(toks: tuple[str, ...], run: Sequence[str]) -> tuple[str, ...]:
    """``toks`` with each word of a product phrase that the item's own run holds (``run``: its
    answer and question) made ``""``: there it is what the run was about, not the product
    around it. "The summary says the fee was cut, the minutes say it was raised" is about an
    answer on fees; "the app crashed before it answered" still is about the app."""
    said = frozenset(tokens("\n".join(part[:RUN_CHARS] for part in run)))
    return tuple("" if t in said and (t in _TOPIC_WORDS or t in _PRICES) else t for t in toks)


def mentions_product(toks: tuple[str, ...]) -> bool:
    """Whether any product phrase could match in ``toks`` (cheap; see :meth:`Lexicon.mentions`)."""
    return _TOPICS.mentions(toks)


def plain_product_topic(toks: tuple[str, ...],
                        answers: Callable[[], Sequence[tuple[str, float]]]) -> str | None:
    """The product topic of one item taken alone (not as part of a group that is about the
    product): stricter than :func:`product_topic`, since one item has no neighbours to vouch
    for it. Nothing in it may address an answer (:data:`ANSWER_TALK`), and the topic's
    phrases must outweigh the answer concepts found in it (``answers()``, asked last: it
    costs most). Its phrases carry it, so a topic's phrase never is a common word alone
    ("monthly" is "month": "one day in a month" is not about pricing)."""
    if not _TOPICS.mentions(toks):
        return None
    product = _TOPICS.match(toks)
    if not product:
        return None
    topic = product[0][0]
    if ANSWER_TALK.match_outside(toks, _TOPICS) or ANSWER_NOUNS.match_outside(toks, _TOPICS):
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
