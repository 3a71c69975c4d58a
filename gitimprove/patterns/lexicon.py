"""A curated concept lexicon: the phrases people use for the recurring themes of agent feedback.

Paraphrase defeats word overlap ("tl;dr", "way too wordy" and "needs to be more concise" share
no word), so each concept lists the phrasings of one theme. Concepts are *aspects*: the kind of
the feedback (negative reason, correction, praise) gives the direction, so "too long" and
"nicely concise" both land in ``length`` and the label says which way.

Phrase syntax: words (stemmed like the text, so ``source`` also matches ``sources``), ``#``
for any number, ``*`` for a gap of up to two words. Where phrases overlap, the longest match
wins (``too much detail`` is length, ``detail`` alone is depth). Feedback that no concept
covers is still grouped, by word similarity (see :mod:`.analysis`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from itertools import pairwise

from gitimprove.dataclass import dataclass
from gitimprove.patterns.text import tokens

GAP = "*"
MAX_GAP = 2


@dataclass(frozen=True)
class Concept:
    key: str
    failure: str            # label of a recurring failure
    correction: str         # label of a consistent correction
    praise: str             # label of a successful pattern
    hints: tuple[str, ...]  # words that name the part of an agent file it concerns
    phrases: tuple[str, ...]


# What an answer drawn from given material calls it: a critique names it ("the document does
# not mention ..."), where "it does not mention the warranty" is a detail left out.
_MATERIAL = ("source", "document", "doc", "text", "transcript", "article", "passage", "context",
             "original", "material")


def _of_material(*templates: str) -> str:
    """Phrases: each template with ``{m}`` made each of :data:`_MATERIAL`."""
    return "\n".join(" | ".join(t.format(m=m) for m in _MATERIAL) for t in templates)


def _c(key: str, failure: str, correction: str, praise: str, hints: str, phrases: str) -> Concept:
    lines = [p.strip() for p in phrases.strip().splitlines()]
    flat = [p.strip() for line in lines for p in line.split("|") if p.strip()]
    return Concept(key, failure, correction, praise, tuple(hints.split()), tuple(flat))


CONCEPTS: tuple[Concept, ...] = (
    _c("length", "too long / verbose", "make it shorter and more concise", "concise, right length",
       "length words long short concise brief",
       """
       too long | way too long | far too long | so long | overly long | really long | long winded
       bit long | a bit long | little long | slightly long | still long | quite long | rather long
       lengthy | length | verbose | verbosity | wordy | wordiness | too wordy | too many words
       rambl | ramble | waffl | padded | padding | filler sentence | filler text | bloat | bloated
       concise | conciseness | more concise | brevity | brief | shorter | shorten | cut it down
       cut down | trim | tighten | keep it tight | tighter | succinct | too much text | too much copy
       too much to read | wall of text | essay | an essay | tldr | goes on and on | on and on
       half the length | half of this | could be half | # word | # words long | # paragraph
       # paragraphs long | # page | stopped reading | scroll past | gave up reading | too much writing
       fewer words | less text | less copy | get to the point | to the point | never ends | endless
       too much detail | too detailed | cut the fluff | cut the length | word count | word limit
       under # words | short and sweet | nice and short | nice and brief | keep it short | keep it brief
       does not fit | doesnt fit | too big for | in fewer words | long reply | long answer | long response
       said in one sentence | one sentence would do | could be shorter | should be shorter
       more words than | than needed | lost interest | a novel | enormous | could have been # sentence
       instead of # paragraph | way more words
       unnecessary information | unnecessary info | unnecessary detail | unnecessary details
       unnecessary text | information is unnecessary | is unnecessary | are unnecessary
       extra information | extra info | extra details
       """),
    _c("depth", "too shallow / missing detail", "add more depth and detail",
       "thorough and detailed",
       "detail depth thorough complete cover angle",
       """
       too short | too brief | too shallow | shallow | superficial | surface level | scratch the surface
       not enough detail | more detail | lacks detail | lack detail | missing detail | needs more depth
       thorough | thoroughly | comprehensive | in depth | in-depth | depth | deep dive | detailed
       complete | completeness | covered every | cover every angle | every angle | nothing missing
       excellent coverage | good coverage | coverage | leaves out | left out important | incomplete
       too thin | half done | barely scratches
       """),
    # NOTE: not "terminology" or "vocabulary" alone: a translator's critics say "inappropriate
    # terminology" of a wrong term, a companion's users "its vocabulary is limited"
    _c("jargon", "too much jargon / too technical", "use plain language and explain terms",
       "clear, plain language",
       "language plain audience technical jargon terms words simple",
       """
       jargon | jargony | too technical | technical | technical term | acronym | abbreviation
       specialist | specialised | buzzword heavy | technobabble
       too much vocabulary | technical vocabulary | complex vocabulary | fancy vocabulary
       too much terminology | technical terminology | specialist terminology | heavy terminology
       complex terminology | unexplained terminology | terminology heavy | big words
       plain english | plain language | simple language | simpler language | simple words | simpler words
       layman | layperson | non expert | non-expert | expert | for experts | for specialists
       over my head | hard to understand | hard to follow | difficult to understand | could not follow
       can not follow | i * not understand | we * not understand | not understand the answer
       not understand its answer | not understand the response | not understand the explanation
       dense | too dense | academic | economist
       explain the term | explain term | explain or | had to google | had to look up | look up every
       google every | dumb it down | dumb down | complicated | too complex | convoluted | lost me
       general audience | normal people | mere mortals | written for engineers | phd | a degree
       everyday words | everyday language | dictionary | what does * mean | what do * mean
       """),
    _c("benefits", "features listed, not customer benefits", "lead with customer benefits, not specs",
       "benefit-focused copy",
       "benefit benefits feature features customer materials dimensions specs",
       """
       benefit | benefits | benefit first | feature heavy | feature-heavy | features not benefits
       all features | features only | spec | specs | spec sheet | specification | datasheet | data sheet
       spec dump | list of specs | just specs | product spec | technical detail | technical data | spec table
       what it does for | does for me | does for you | does for the customer | why it matters | why it matter
       what is in it for | in it for me | point of view | customer point | outcome | selling point
       why they would want | why i would want | why should i care | why would i care | what problem
       problem it solv | solves for | makes life easier | life easier | how it feels | how it feel
       experience of using | thread count | numbers and measurements | dimensions and materials
       nobody buys | reads like a manual | reading the manual | like a manual | instead of the specs
       translate the specs | spec into | turn each feature | not what it is | less what it is
       technical spec | do not care about the | nobody cares about the
       """),
    # NOTE: not "the ending" alone: it stems as "the end" does ("a chat template in the end
    # of the answer")
    _c("call_to_action", "no call to action", "end with a call to action", "strong call to action",
       "end ending close closing last sentence action",
       """
       call to action | cta | calls to action | order now | buy now | shop now | add to basket
       add to cart | add to bag | ask for the sale | asks for the sale | ask for the order
       nudge * to buy | nudges * to buy | push * to buy | push towards the basket | prompt to buy
       reason to act | reason to buy now | gets people to click | get people to click | to click
       weak ending | ends flat | flat ending | closing line | closer | just stops | it just ends
       no ending | no close | the ending is | the ending was | fix the ending | improve the ending
       better ending | strong ending | tell people what to do | urge to buy
       conversion | converts | sales push | drive sales | encourage * to buy | tell them to buy
       prompt * purchase | prompts * purchase | drive * purchase | push * purchase
       nudge * purchase | encourage * purchase | to act | to the cart | to cart
       encourages the reader | invitation to buy
       """),
    _c("cliches", "clichés, hype and marketing fluff", "avoid clichés and hype; be specific",
       "no hype, genuine voice",
       "voice tone style wording words phrases",
       """
       cliche | cliches | clich | stock phrase | buzzword | buzzwords | fluff | fluffy | marketing speak
       marketing fluff | marketing talk | salesy | too salesy | hype | hyped | overhyped | over the top
       superlative | superlatives | generic marketing | generic buzzword | filler | cheesy | infomercial | cringe | cringey
       revolutionary | game changer | game-changer | cutting edge | cutting-edge | best in class
       next level | look no further | elevate your | the ultimate | unparalleled | world class
       meaningless | could be about any | no substance | empty words | puffery | purple prose
       overblown | exaggerat | hyperbole | gushing | too enthusiastic | over-enthusiastic | corny
       """),
    # NOTE: no "lovely": it stems as "love" does, and "I love this app" is not about tone
    _c("tone", "robotic, cold, lacks empathy", "acknowledge feelings and apologise first",
       "warm, friendly, human tone",
       "tone polite empathy warm friendly human voice",
       """
       robotic | robot | like a robot | like a machine | vending machine | answering machine | automated
       form letter | scripted | stiff | too formal | formal | corporate | impersonal | cold | cold reply
       no empathy | empathy | empathetic | empathis | sympathy | sympathetic | understanding of
       show some understanding | show understanding | acknowledge | acknowledg | apologis | apology
       apologetic | say sorry | said sorry | really sorry | so sorry | very sorry | sorry to hear
       sorry for the | sorry about the | human | human way | like a human | real person
       like a person | person wrote | warmth | warm | warmer | friendly | friendlier | kind and
       really kind | very kind | so kind | was kind | is kind | not kind | be kind | more kind
       kinder | kindness | kind reply | kind words | kind tone
       polite | courteous | patient | pleasant | did not care | technically correct but | felt looked after | looked after
       dismissive | tone deaf | tone-deaf | upset | how frustrating | frustration | inconvenience
       copy paste | copy-paste | soulless | heartless | no feeling | conversational
       approachable | tone | the tone | stuffy | uncaring | rude | curt | blunt | abrupt
       """),
    _c("brand_voice", "off-brand voice", "write in the brand's voice", "on-brand voice",
       "voice brand tone style",
       """
       brand voice | our voice | on brand | on-brand | off brand | off-brand | sounds like us
       sounds like our brand | like our brand | our brand | brand guide | brand guideline | house style
       great voice | perfect voice | not our voice | not how we talk | how we talk
       """),
    _c("next_steps", "no next steps or reference number", "end with next steps, a timeline and a reference",
       "clear next steps",
       "process next ticket reference follow confirm end steps",
       """
       next step | next steps | what happens next | what will happen | what happen next | now what
       what to do next | what do i do now | what i should do | what should i do | what we do
       ticket number | ticket id | ticket | case number | case reference | case id | reference number
       reference id | reference for my | the reference | a reference | order reference | tracking number
       timeline | time frame | timeframe | when i will hear | hear back | follow up | follow-up
       left me hanging | no idea when | do not know if | by when | how long it will take
       looking into it | look into it | when the refund | get my refund | refund will arrive
       vague about what | expected timeline | within # hours | within # days | # working days
       end every reply with | without any follow | what you do | what they need to do
       what happens now | what now | what happens after
       """),
    # NOTE: "to repeat the same" (had to, made me): an answer that "repeats the same thought"
    # is repetition
    _c("repeat_questions", "asks again for information already given",
       "use the details already in the conversation", "no back-and-forth",
       "confirm order number email ask details process",
       """
       asked again | ask again | asks again | asking again | asked for * again | ask for * again
       already told | already gave | already given | already provided | already said | already typed
       already in the | already in my | already shared | already sent | just typed | just told
       repeat everything | repeat myself | to repeat the same | repeating myself | same question
       same questions | same info | same information | same details | the same thing twice
       asked * twice | ask * twice | asks * twice | asked * # times | ask * # times | asks * # times
       asked * three times | ask * three times | for * twice | email twice | number twice
       name twice | address twice | details twice | information twice | info twice | it twice
       question twice | number # times | number three times | email # times | # times already
       twice already | again and again | keeps asking | kept asking | keep asking
       repetitive question | repetitive questions | back and forth | not listening | was not listening
       does not read | did not read | ignored what i | type * again | asked me to confirm
       even though i | in my first message | in the subject | in the ticket | requested details
       """),
    # NOTE: a human asked for, not a human tone: "like a human" stays tone (the longer phrase
    # wins). No "manager" or "rep": an app review's "the rep never replied" is support.
    _c("escalation", "does not hand over to a human", "hand over to a human when asked",
       "handed over when needed",
       "escalate escalation supervisor human handoff approval",
       """
       escalate | escalated | escalates | escalating | escalation | supervisor | supervisors
       for a human | to a human | a live agent | live agent | human agent | real agent
       hand me over | hand me to | handed me to | hand it over | hand off | handoff | handover
       transfer me | transferred me | pass me to | passed me to
       """),
    _c("citations", "no sources or citations", "cite sources with links", "well sourced",
       "source sources cite citation reference evidence facts material",
       """
       source | sources | sourced | unsourced | no source | cite | cited | citation | citations
       reference | references | referenc | link | links | linked | url | urls | footnote | footnotes
       bibliography | evidence | no evidence | back it up | back up | backed up | nothing to back
       verify | verifiable | unverifiable | fact check | fact-check | where from | where it came from
       where the numbers come from | where * come from | which report | name the report | which study
       original stud | the study | a study | studies show | studies say | the studies
       which studies | what study | made up * study | publisher | attribution | attribute | provenance
       numbers from | figures from | stats from | statistics from | can not check | can not verify
       """),
    _c("summary_first", "no summary up front; the answer is buried",
       "start with a short summary of the answer", "clear summary up front",
       "summary start first begin open top format structure conclusion",
       """
       no summary | without a summary | lacks a summary | missing summary | missing a summary
       need a summary | needs a summary | want a summary | a summary would
       short summary | quick summary | brief summary | bullet summary | sentence summary
       summary first | summary up front | summary at | summary on top | add a summary
       start with a summary | open with a summary | summarise first | summarize first
       summarise it first | summarize it first | executive summary | no overview | brief overview
       overview first | overview at the top | tldr first | tldr at the top | no tldr | tldr up top
       bottom line | the bottom line | key finding | key findings | key takeaway | takeaways
       takeaway | conclusion first | conclusion up front | conclusion at the top
       conclusion at the start | answer first | the answer first | lead with the answer
       start with the answer | find the answer | where is the answer | buried | bury | up front
       upfront | at the top | at the start | first paragraph should | up top | gist | headline first
       get to the answer | straight to the answer | main point | key point first | answer up front
       """),
    # NOTE: not "split * into" alone: "one input sentence is split into two sentences" is a
    # translation's fault, "split it into bullet points" a request for a list
    _c("formatting", "hard to scan: wall of text, no lists", "use bullet points and short lists",
       "easy to scan",
       "bullet bullets list format paragraph structure scan",
       """
       bullet | bullets | bullet point | bullet points | bulleted | bulleted list | list format
       as a list | into a list | in a list | a list of highlights | scannable | scan | skim | skimmable
       block of text | blocks of text | dense paragraph | the formatting | bad formatting
       poor formatting | better formatting | numbered list | a list
       break it up | break up the | line breaks | table format
       break * into a list | break * into bullet | break * into points | break * into paragraphs
       split * into a list | split * into bullet | split * into points | split * into paragraphs
       break * into sections | split * into sections | break * into steps | split * into steps
       """),
    # NOTE: not "organisation" alone: "faith organisations" are who an answer is for
    _c("structure", "disorganised, hard to follow", "organise it with clear headings and sections",
       "well organised and easy to follow",
       "structure organise headings sections format flow",
       """
       structure | structured | well structured | organis | well organis | disorganis | unorganis
       organisation of | poor organisation | good organisation | bad organisation | no organisation
       better organisation | lacks organisation | lack of organisation | clear organisation
       heading | headings | section | sections | layout | laid out | logical flow
       flow | flows | easy to follow | jumps around | all over the place | messy | chaotic
       table | comparison table | neat | neatly | tidy | coherent | incoherent
       """),
    _c("accuracy", "factual errors or invented details", "stick to the facts given",
       "accurate, sticks to the facts",
       "facts fact accurate inputs guess correct",
       """
       accurate | accuracy | inaccurate | inaccuracy | incorrect | correct | correctly | wrong fact
       is wrong | are wrong | wrong answer | wrong answers | wrong price | wrong number | wrong numbers
       wrong date | wrong dates | wrong year | wrong figures | wrong facts | wrong info | wrong detail | wrong information | factual | factually | fact | facts | stuck to the facts | sticks to the facts
       stick to the facts | hallucinat | made up | makes up | making up | invent | invented
       invents | fabricat | matches the product sheet | matches the data sheet | match the sheet
       product sheet | it checks out | all checks out | does not check out | doesnt check out | did not check out | do not check out
       facts check out | numbers check out | figures check out | reliable | precise | error | errors | mistake
       mistakes | misinformation | not true | untrue | false claim | made-up | no made up
       make * up | is false | are false | false
       """),
    # Critiques of an answer drawn from material it was given (a summary of a transcript, an
    # answer from retrieved passages): it says what the material does not. The material is
    # named, since "it doesn't mention the warranty" is a detail left out, not one added.
    _c("grounding", "claims the source does not support", "keep to what the source says",
       "faithful to the source",
       "source sources faithful grounded accurate accuracy facts quality",
       _of_material("not in the {m}", "{m} * not mention", "{m} never mention",
                    "not mentioned in the {m}", "{m} * not say", "{m} * not state",
                    "not stated in the {m}", "{m} * not specify", "not specified in the {m}",
                    "{m} * not support", "not supported by the {m}", "{m} * not include",
                    "{m} * not discuss", "not discussed in the {m}", "{m} * not indicate",
                    "{m} * no information", "no information in the {m}", "nothing in the {m}",
                    "not found in the {m}", "inferred from the {m}", "not grounded in the {m}",
                    "no mention of * in the {m}", "according to the {m}", "per the {m}",
                    "as per the {m}", "the {m} says", "the {m} states",
                    # a translation or summary that does not render its source
                    "unrelated to the {m}", "nothing to do with the {m}",
                    "not match the {m}", "not faithful to the {m}", "unfaithful to the {m}",
                    "{m} * not contain", "not contained in the {m}") + """
       per source | per source document | not grounded | ungrounded | unsupported claim
       unsupported claims | no basis in
       outside the source | beyond the source | extrinsic | added information | adds information
       adds details | added details | adds a claim | added a claim
       """),
    # Critiques of an answer's argument (a tutor's, an analyst's): its steps do not hold
    # together, whatever the facts. Not "conclusion" alone: that is where a summary goes.
    _c("reasoning", "flawed reasoning or logic", "check each step of the reasoning",
       "sound reasoning",
       "reasoning logic steps argument",
       """
       reasoning | wrong reasoning | faulty reasoning | flawed reasoning | incorrect reasoning
       logic | logical
       illogical | logically | does not follow | not follow from | non sequitur | contradicts itself
       contradicts | contradiction | contradictory | self contradictory | deduction | deduce
       deduced | inference | infer | inferred | wrong conclusion
       conclusion does not | circular | invalid argument | the argument
       missed * step | missing step | step * missing | steps * missed | skipped * step
       wrong steps | incorrect steps | correct steps | wrong approach | incorrect approach
       """),
    _c("resolution", "slow or unresolved", "resolve it in one reply", "fast, first-time resolution",
       "process resolve",
       """
       fast | quick | quickly | instantly | instant | straight away | right away | speedy | rapid
       efficient | efficiently | painless | in one message | in one reply | first time | first go
       resolved | resolution | solved | sorted | sorted out | problem fixed | issue fixed
       in # minutes | in # seconds | no waiting | without waiting
       took ages | took forever | still waiting | unresolved | not resolved
       not solved | did not solve | got my answer
       """),
    _c("relevance", "off-topic or not answering the question", "answer the question that was asked",
       "on point",
       "scope topic question stay",
       """
       off topic | off-topic | irrelevant | not relevant | relevance | tangent | tangents | went off
       did not answer | does not answer | answer the question | not what i asked | not what i asked for
       beside the point | missed the point | misses the point | on point | on topic | stay on topic
       unrelated | random stuff | wrong question | stick to the question | answered something else
       not understand what i | not understand what we | not understand what you | not understand me
       not understand anything | not understand any | understand nothing | barely understand
       not seem to understand | misunderstand | misunderstands | misunderstood | misunderstanding
       not listen to what | not listen to anything | not listen to me | not listen to you
       nothing to do with what | not related to what | unrelated to what | completely unrelated
       not react to | change the subject | changes the subject | changes subjects | going off topic
       goes off topic | deviating from | ignored my question | ignores my question | ignore my question
       ignores the question | ignored the question | not respond to what | not answer what
       read what you write | read what i write | read what is written
       """),
    # A chatbot's users: whatever they say, it answers from a script. "Generic" alone is
    # here, not among marketing copy's clichés: "generic advice, not tailored to construction
    # sites", "generic active listening responses" (a FAQ bot's, a chatbot's) ask for a reply
    # to what was asked, and copy's "generic superlatives" say their cliché in other words.
    # Not "script" alone: a coding agent's users mean a program; and the same reply again
    # and again is repetition.
    _c("canned", "canned, generic replies", "reply to what the user actually said",
       "personal, specific replies",
       "reply replies respond response conversation talk specific personal",
       """
       canned | scripted | from a script | a fixed script | sticks to the script | just a script
       follows a script | read me a script | same script | same scripts | prior script
       pre written | prewritten | pre made | premade
       pre programmed | preprogrammed | preset | pre set | predefined | pre defined | already made
       stock answer | stock answers | stock response | stock responses | stock replies
       generic response | generic responses | generic answer | generic answers | generic reply
       generic replies | generic message | generic messages | general responses | standard phrases
       generic
       standard responses | standard replies | template responses | template answers
       template replies | are templated | is templated | sounds templated | feels templated
       so templated | very templated | in templates
       automated response | automated responses | automated replies | response machine
       multiple choice | options to choose | choose from options | buttons to choose | only buttons
       no matter what i write | no matter what you write | no matter what i say | no matter what you
       regardless of what you | regardless of what i | not matter what you type | not a real ai
       not real ai | not even an ai | not a proper ai | talking in a circle | talking in circles
       infinite loop | limited responses | basic responses | basic messages
       """),
    # Complaints about assistants' answers in general (app reviews, critiques), beyond the ones
    # above. Phrases, not bare words, where a word also names a product problem: "forgot my
    # password" is about login, "they refused my refund" about billing.
    _c("truncated", "cut off or unfinished answers", "finish the answer", "complete answers",
       "length complete finish long",
       """
       answer cut off | answers cut off | response cut off | responses cut off | reply cut off
       get cut off | got cut off | cut off mid | cuts off mid | stops mid | stopped mid
       mid sentence | midsentence | unfinished | not finished | never finishes | does not finish
       doesnt finish | did not finish | didnt finish | truncated | truncat | stops writing
       stopped writing | stops generating | stopped generating | half finished | half an answer
       incomplete answer | incomplete answers | incomplete response | incomplete code
       """),
    _c("memory", "forgets what the user said", "keep track of the conversation",
       "remembers the conversation",
       "context conversation memory remember history",
       """
       forgets | forgetting | forgot what | forgot everything | forgot about | forgets what
       forgot my name | forgets my | forgot our | doesnt remember | does not remember
       didnt remember | did not remember | cant remember | can not remember | wont remember
       no memory | short memory | remembers nothing | lose context | loses context
       lost context | loses the context | loses track | lost track | lose track | context window
       earlier in the chat | earlier in the conversation | what i said before | what i just said
       earlier in the session | earlier in the same session | compaction | after compacting
       forgets how | forgot how | never remembers | never remember | remembers anything
       terrible memory | bad memory | poor memory | awful memory | horrible memory | no long term memory
       long term memory | longterm memory | memory issue | memory issues | memory problem
       memory problems | memory loss | memory is terrible | memory is bad | memory is awful
       memory is poor | memory is horrible | memory of a goldfish | lacks memory
       forgot the conversation | forgot the whole | forgets the conversation | forgets everything
       does not recall | doesnt recall | never recalls
       no recollection | lost its memory | memory is gone | memory gone | memory wiped
       """),
    _c("refusal", "refuses or lectures", "help without lecturing", "helpful without preaching",
       "scope refuse decline tone",
       """
       refuse to answer | refuse to help | refuse to write | refuse to talk | refuse to discuss
       refuse to do | refuse to give | refuse to respond | wont answer | will not answer
       wont help | will not help | can not help with that | cant help with that | preachy | preach
       preaching | lecture | lectures | lecturing | moraliz | moralis | sermon | censor | censored
       censorship | too filtered | overly cautious | too cautious | too sensitive | disclaimer
       disclaimers | as an ai | content policy | against my guidelines | nanny | puritan
       flags my request | flags my requests | flagged my request | flagged my requests
       flags everything | flagged as inappropriate | as inappropriate | against the guidelines
       against its guidelines | against their guidelines | policy violation | content violation
       too restricted | too restrictive | overly restrictive
       """),
    _c("flattery", "flattery and sycophancy", "skip the praise and be candid",
       "candid, no flattery", "tone style voice honest direct",
       """
       flattery | flattering | flatter | flatters | flattered | sycophantic | sycophancy
       sycophant | glazing | glazes | glaze | great question | fantastic idea | brilliant idea
       kiss up | kissing up | kisses up | sucking up | sucks up | suck up | butter me up | yes man
       people pleaser | agrees with everything | always agrees | too agreeable
       tells me what i want to hear | tell me what i want to hear | praises me | praising me
       compliments me | complimenting me | over the top praise | overly positive
       """),
    _c("follow_up", "ends every answer with a question", "stop ending with follow-up questions",
       "no needless follow-up questions", "question follow end style",
       """
       follow up question | follow up questions | followup question | followup questions
       ends with a question | end with a question | ending with a question
       ends every answer with | ends every reply with | ends each answer with
       would you like me to | do you want me to | question at the end | questions at the end
       asks me questions | asking me questions | asks me a question after
       """),
    _c("repetition", "repetitive answers", "say each thing once", "no repetition",
       "repeat repetition length concise",
       """
       repeating itself | repeats itself | repeat itself | repetitive | repetition | repetitions
       repeats the same | repeated the same | same answer | same answers | same response
       same responses | same reply | same replies | same thing over | over and over | says the same
       keeps saying | stuck in a loop | in a loop | loops | redundant | redundancy
       """),
    # NOTE: what the model knows, not the app's version: "outdated app" and "last update broke
    # it" stay product; phrases name information, knowledge, data or events.
    _c("outdated", "outdated knowledge", "say where its knowledge ends",
       "up-to-date answers",
       "knowledge current date recent events search",
       """
       outdated information | outdated info | outdated data | outdated knowledge | outdated answers
       out of date information | out of date info | out of date answers | old information
       old info | old data | knowledge cutoff | knowledge cut off | cutoff date | cut off date
       knowledge is limited | knowledge ends | its knowledge | knowledge update | knowledge past
       only knows up to | information up to | data up to | september # | sept # | nothing after #
       information from # | knowledge from # | data from # | current events | recent events
       latest news | latest events | latest information | current information | current data
       up to date information | not up to date | isnt up to date | real time information
       realtime information | no internet access | no access to the internet
       cant access the internet | not connected to the internet | cant browse | can not browse
       permanently closed | that closed | has closed | have closed | had closed
       no longer exists | no longer exist | does not exist anymore | out of business
       data pre # | info pre # | information pre # | knowledge pre # | training data
       trained up to | trained until
       """),
    _c("instructions", "ignores instructions", "follow the instructions",
       "follows instructions",
       "instructions follow request format rules",
       """
       ignores my | ignored my | ignore my | ignores instructions | ignored instructions
       ignores the instructions | ignores what i | follow my | follow the instructions
       follow instructions | follow directions | follow the prompt | following instructions
       instruction following | as i asked | as instructed | i told it to | i asked it to
       despite asking | even though i asked | specifically asked | specifically told
       even though i said | even though i told | did not respect my | does not respect my
       disregarded my | disregards my
       ignoring my | ignoring instructions | ignore * instructions | ignores * instructions
       ignoring * instructions | ignored * instructions | ignores * rules | ignoring * rules
       ignores * md | ignoring * md | ignored * md | ignores them | ignoring them
       not following * md | not following * instructions | does not follow them
       does not follow my | does not follow * instructions | does not follow * rules
       does not listen | not listening | explicit instructions | explicitly told
       explicitly asked | stick to * instructions
       follow the constraint | follow the constraints | follow * constraint | violates the constraint
       not follow the constraint | not follow the constraints | not follow the requirement
       adhere to the requirement | adhere to * requirement | by the requirement | the requirement of
       as per constraints | as per the constraint | as per the requirement
       format required | required format | formatting requirement | format requirement
       does not follow the format | in the wrong format | not in the required
       requirement | requirements | fail to follow | fails to follow | failed to follow
       which is not allowed | which are not allowed | exactly as it is | exactly as is
       """),
)

_BY_KEY = {c.key: c for c in CONCEPTS}


def concept(key: str) -> Concept | None:
    return _BY_KEY.get(key)


class Lexicon:
    """Matches stemmed token sequences against every concept's phrases."""

    def __init__(self, concepts: Iterable[Concept] = CONCEPTS) -> None:
        self.concepts = {c.key: c for c in concepts}
        # NOTE: indexed by the first word, and by the first two where the second is a word,
        # so that a text tries only the phrases that can start at each of its words.
        self._index: dict[str, list[tuple[tuple[str, ...], str, int]]] = defaultdict(list)
        self._pairs: dict[tuple[str, str], list[tuple[tuple[str, ...], str, int]]] = defaultdict(list)
        for c in self.concepts.values():
            seen: set[tuple[str, ...]] = set()
            for phrase in c.phrases:
                toks = tuple(GAP if w == GAP else ("#" if w == "#" else t)
                             for w in phrase.split() for t in (tokens(w) or (w,)))
                if not toks or toks[0] == GAP or toks in seen:
                    continue
                seen.add(toks)
                weight = sum(1 for t in toks if t != GAP)
                if len(toks) >= 2 and toks[1] != GAP:
                    self._pairs[(toks[0], toks[1])].append((toks, c.key, weight))
                else:
                    self._index[toks[0]].append((toks, c.key, weight))
        self._singles = frozenset(self._index)
        self._pair_firsts = frozenset(a for a, _ in self._pairs)
        self._pair_keys = frozenset(self._pairs)
        self._firsts = self._singles | self._pair_firsts

    def mentions(self, toks: tuple[str, ...]) -> bool:
        """Whether any phrase could match in ``toks``: a cheap test before :meth:`match`."""
        return not self._firsts.isdisjoint(toks)

    def match(self, toks: tuple[str, ...]) -> list[tuple[str, float]]:
        """Concepts found in ``toks`` with their scores, best first (longest matches win)."""
        spans = self._spans(toks)
        return self._scored(spans) if spans else []  # most texts: nothing to score or sort

    def match_outside(self, toks: tuple[str, ...], other: Lexicon) -> list[tuple[str, float]]:
        """As :meth:`match`, less each phrase that lies wholly within one of ``other``'s:
        "wrong" in an app's "something went wrong" is part of what the app said."""
        spans = self._spans(toks)
        if spans and other.mentions(toks):
            outer = [(start, end) for _, start, end, _, _ in other._spans(toks)]
            spans = [sp for sp in spans if not any(start <= sp[1] and sp[2] <= end
                                                   for start, end in outer)]
        return self._scored(spans)

    @staticmethod
    def _scored(spans: list[tuple[int, int, int, str, tuple[str, ...]]]) -> list[tuple[str, float]]:
        if not spans:
            return []
        scores: dict[str, float] = {}
        first: dict[str, int] = {}
        for neg_weight, start, _, key, _ in spans:
            scores[key] = scores.get(key, 0.0) + float(-neg_weight)
            first[key] = min(first.get(key, start), start)
        if len(scores) == 1:
            return list(scores.items())
        return sorted(scores.items(), key=lambda kv: (-kv[1], first[kv[0]], kv[0]))

    def matched_words(self, toks: tuple[str, ...]) -> set[str]:
        """The words of ``toks`` that a phrase matched (not those in a phrase's gap)."""
        return {t for _, start, end, _, phrase in self._spans(toks) for t in toks[start:end]
                if t in phrase}

    def _spans(self, toks: tuple[str, ...]) -> list[tuple[int, int, int, str, tuple[str, ...]]]:
        """The phrases matched in ``toks``, the heaviest kept where they overlap:
        ``(-weight, start, end, key, phrase)``."""
        # NOTE: most words start no phrase, and most pairs of words none of two words or
        # more: the words and pairs that may are found at once (set intersections), and only
        # their places are visited (tuple.index), not every word.
        found: list[tuple[int, int, int, str, tuple[str, ...]]] = []
        for tok in self._singles.intersection(toks):
            entries = self._index[tok]
            i = -1
            for _ in range(toks.count(tok)):
                i = toks.index(tok, i + 1)
                for pattern, key, weight in entries:
                    end = i + 1 if len(pattern) == 1 else _match_at(toks, i, pattern)
                    if end >= 0:
                        found.append((-weight, i, end, key, pattern))
        if not self._pair_firsts.isdisjoint(toks):
            last = len(toks) - 1
            for pair in self._pair_keys.intersection(pairwise(toks)):
                tok, then = pair
                entries = self._pairs[pair]
                i = -1
                for _ in range(toks.count(tok)):
                    i = toks.index(tok, i + 1)
                    if i < last and toks[i + 1] == then:
                        for pattern, key, weight in entries:
                            end = i + 2 if len(pattern) == 2 else _match_at(toks, i, pattern)
                            if end >= 0:
                                found.append((-weight, i, end, key, pattern))
        if len(found) <= 1:
            return found
        found.sort()  # a total order (no two spans are alike): the order found in is no matter
        taken = 0  # the words taken, a bit each
        kept = []
        for span in found:
            bits = (1 << span[2]) - (1 << span[1])
            if taken & bits:
                continue
            taken |= bits
            kept.append(span)
        return kept


def _match_at(toks: tuple[str, ...], start: int, pattern: tuple[str, ...]) -> int:
    """End index of ``pattern`` matched at ``start``, or -1."""
    pos = start + 1
    gap = False
    for want in pattern[1:]:
        if want == GAP:
            gap = True
            continue
        limit = pos + (MAX_GAP if gap else 0)
        gap = False
        while pos <= limit and pos < len(toks):
            if toks[pos] == want:
                break
            pos += 1
        else:
            return -1
        if pos > limit:
            return -1
        pos += 1
    return pos


# Idioms that hold a theme's words and say nothing of an answer: "Something is wrong with my
# Replika" (the app), "nothing is wrong with my signal", "don't get me wrong", "subscribed by
# mistake", a program's "error handling" (a coding agent's rule to handle errors is no rule
# on factual errors), an evaluation's verdict ("the correct answer is judged wrong because
# the metric wants a verbatim match": the metric's fault, not the answer's). A theme's phrase that lies wholly inside one is not counted (see
# :meth:`Lexicon.match_outside`).
IDIOMS = Lexicon((_c("idioms", "", "", "", "", """
    something is wrong | something wrong with | nothing is wrong | nothing wrong with
    is wrong with you | wrong with you | wrong with this app | wrong with the app | get me wrong
    by mistake
    error handling | handle errors | handles errors | handling errors | handle * errors
    error handler | error handlers | error logging | error boundaries | error boundary
    correct answer is judged | correct answer judged | correct answer was judged
    correct answer is marked | correct answer was marked | judged wrong | judged as wrong
    judged incorrect | judged as incorrect | marked wrong | marked as wrong | marked incorrect
    metric error | evaluation error | error in evaluation | error in the evaluation
    """),))
IDIOM_WORDS = frozenset(("wrong", "mistak", "error", "correct"))  # the theme words the idioms hold, stemmed


def read_themes(lexicon: Lexicon, toks: tuple[str, ...]) -> list[tuple[str, float]]:
    """:meth:`Lexicon.match` less the phrases that lie within an idiom (:data:`IDIOMS`): how a
    piece of feedback and a rule of a file are read alike (an idiom is looked for only where
    its word is: most texts have none)."""
    scored = lexicon.match(toks)
    if scored and not IDIOM_WORDS.isdisjoint(toks):
        return lexicon.match_outside(toks, IDIOMS)
    return scored
