"""Every word Between says to people, in English, in one place for clinicians to review.

Tone rules: never "homework", "assignment", "failed", "missed", "streak broken"
or "you should"; every try counts, partly is a success, a skip is data; short messages, one
question at a time.
"""

from __future__ import annotations

from datetime import datetime, time

CONSENT_VERSION = "2026-11-21"
# Sharing with a clinician; from this version the preview lists crisis-word messages.
SHARE_CONSENT_VERSION = "2026-11-21.2"
CRISIS_SHARED_SINCE = "2026-11-21.2"

# ---------------------------------------------------------------- onboarding
WELCOME = "Hi {name}, I'm Between: a companion for the days between your therapy sessions."
WHAT_I_DO = (
    "Together we set up a small practice, tied to a moment you already have in your day. "
    "I'll nudge you at that moment and ask kindly how it went. Every try counts, "
    'and "not today" is useful to know too.'
)
NOT_A_CRISIS_SERVICE = "I'm not a crisis service and I can't give medical advice. {crisis}"
DEFAULT_CRISIS = (
    "If you are in danger or need urgent help, please contact your local emergency "
    "services now, or a crisis line where you live."
)
PRIVACY = (
    "What I keep: your practices, how they went, and what you write or say to me here. "
    "Only you see it, unless you choose to share it with your clinician. "
    "Telegram chats with bots are not end-to-end encrypted.\n\n"
    "Is that okay with you?"
)
CONSENT_YES = "Yes, that's okay"
CONSENT_NO = "Not now"
CONSENT_DECLINED = (
    "That's completely fine. I won't keep anything about your practices. "
    "Send /start whenever you'd like to begin."
)
CONSENT_NEEDED = "Before we start, I need your okay on what I keep. Send /start to see it."
BUTTON_BEFORE_CONSENT = (
    "That button is from an earlier message. Before we go on, I need your okay on what I keep: "
    "send /start to see it."
)
ASK_TIMEZONE = (
    "Which city or timezone are you in? For example: London, New York, Europe/Berlin. "
    "I use it so nudges arrive at your local time."
)
TIMEZONE_UNKNOWN = (
    "I don't know that place yet. Could you try a nearby big city, "
    "or a timezone name like Europe/Berlin?"
)
TIMEZONE_CONFIRM = "{zone}: it's {local_time} there now. Is that right?"
TIMEZONE_RIGHT = "Yes, that's right"
TIMEZONE_WRONG = "No, change it"
TIMEZONE_SAVED = "Got it. Your nudges will follow {zone} time."
LANGUAGE_NOW = "I listen to your voice notes in {language}. "
LANGUAGE_PICK = (
    "Which language do you speak in your voice notes? You can also send a code, like /language es."
)
LANGUAGE_UNKNOWN = (
    "I don't know that language yet. Could you pick one below, or send a code like /language es?"
)
LANGUAGE_SAVED = "Got it. I'll listen to your voice notes in {language}."
READY_FOR_FIRST = "Whenever you're ready, /new sets up your first small practice."
WELCOME_BACK = "Welcome back, {name}. /practices shows what you have; /help shows everything."

# ---------------------------------------------------------------- designing a practice
ASK_GOAL = (
    "What would you like to practise? In your own words, "
    'for example "speaking up", "a short walk" or "breathing slowly".'
)
ASK_STEP = (
    "What's the smallest version of that which would still count? "
    'Make it almost too easy, like "say one clear sentence out loud".'
)
ASK_CONFIDENCE = "How sure are you that you'd do this, from 0 to 10?"
CONFIDENCE_LOW = (
    "Thanks for being honest. Let's make it easier, so it feels like a 9. "
    "What's an even smaller version? Or keep it as it is."
)
KEEP_AS_IS = "Keep it as it is"
ASK_ANCHOR = (
    "When in your day could it fit? Pick a moment you already have, "
    'like "while my coffee brews" or "after I brush my teeth".'
)
ANCHOR_SUGGESTIONS = (
    "After I wake up",
    "While my coffee brews",
    "After lunch",
    "Before bed",
)
ASK_DAYS = "Which days?"
DAYS_EVERY = "Every day"
DAYS_WEEKDAYS = "Weekdays"
DAYS_CHOOSE = "Choose days"
DAYS_PICK = "Tap the days you'd like, then Done."
DAYS_DONE = "Done"
DAYS_NONE_PICKED = "Pick at least one day, then Done."
DAYS_UNKNOWN = (
    'I couldn\'t read those days. Try "every day", "weekdays" or names like "mon wed fri".'
)
DAY_NAMES = {
    "mon": "Mon",
    "tue": "Tue",
    "wed": "Wed",
    "thu": "Thu",
    "fri": "Fri",
    "sat": "Sat",
    "sun": "Sun",
}
ASK_TIME = "About what time is that, usually? For example 7:30, 7.30am or 19:30."
TIME_UNKNOWN = "I couldn't read that as a time. Try something like 7:30, 7.30am or 19:30."
ASK_IF_THEN = (
    "What's most likely to get in the way? You can make a plan for it: "
    '"If ___, then I will ___". Or skip this.'
)
ASK_REWARD = (
    "Is there a small reward you'd enjoy right after? A favourite song, a cup of tea... "
    "Or skip this."
)
SKIP = "Skip"
CONFIRM_INTRO = "Here's your practice, in your words:"
CONFIRM_SAVE = "Looks right"
CONFIRM_EDIT = "Change something"
EDIT_WHICH = "What would you like to change?"
FIELD_LABELS = {
    "goal": "What I practise",
    "step": "Smallest version",
    "anchor": "The moment",
    "days": "Days",
    "time": "Time",
    "if_then": "If-then plan",
    "reward": "Reward",
}
PRACTICE_SAVED = "Saved. I'll nudge you {when}. You can tell me how it went any time with /done."
PRACTICE_LIMIT = (
    "You have {count} practices already, as many as I can keep well at once. If one has done "
    "its work, /practices lets you remove it, and then there's room for a new one."
)

# ---------------------------------------------------------------- listing and editing
NO_PRACTICES = "You don't have a practice yet. /new sets one up."
PRACTICES_HEADER = "Your practices:"
PAUSED_MARK = " (paused)"
EDIT = "Change"
PAUSE = "Pause"
RESUME = "Resume"
REMOVE = "Remove"
REMOVE_CONFIRM = "Remove this practice? What you reported stays in your history."
REMOVE_YES = "Yes, remove it"
REMOVE_NO = "No, keep it"
REMOVED = "Removed. /new sets up another whenever you like."
PAUSED = "Paused. No nudges for this one until you resume it."
RESUMED = "Resumed. Next nudge {when}."
CHANGED = "Changed. Here it is now:"
NOTHING_CHANGED = "Okay, nothing changed."
PRACTICE_GONE = "That practice isn't there anymore. /practices shows what you have."

# ---------------------------------------------------------------- reporting
WHICH_PRACTICE = "Which practice?"
HOW_DID_IT_GO = "How did it go: {step}?"
DID_IT = "Did it"
PARTLY = "Partly"
NOT_TODAY = "Not today"
ACK_DID = "That's a real try, and it counts. Well done."
ACK_PARTLY = "Partly is a success. Every try counts."
REWARD_NOW = "Time for your reward: {reward}."
ASK_REFLECTION = "One line, if you like: what made it easier?"
REFLECTION_SAVED = "Thanks, noted."
ACK_NOT_TODAY = "Thanks for telling me; that's useful, not a failure. What got in the way?"
OBSTACLES = {
    "forgot": "Forgot",
    "too_big": "Too big or too long",
    "no_time": "No time",
    "pressure": "Felt pressure to do it perfectly",
    "not_useful": "Didn't feel useful right now",
    "other": "Something else",
}
ASK_OTHER_OBSTACLE = "What got in the way? A few words is plenty."
YOUR_PLAN = "Your plan for this: {if_then}"
OFFER_FOR = {
    "forgot": "Let's make the moment easier to notice. What would help?",
    "too_big": 'Let\'s make it smaller. How about: "{proposal}"?',
    "no_time": "Would a shorter version or other days fit better?",
    "pressure": (
        "You can't fail at this: any try counts, even a rough one. "
        'Want to lower the bar? How about: "{proposal}"?'
    ),
    "not_useful": "Thanks for saying so. What would you like to do with it?",
    "other": "Thanks. Would any of these help?",
}
OPTION_LABELS = {
    "anchor": "Tie it to another moment",
    "time": "Change the time",
    "smaller": "Make it smaller",
    "own_smaller": "I'll write my own",
    "days": "Other days",
    "lower_bar": "Yes, lower the bar",
    "keep": "Keep it as it is",
    "pause": "Pause it for now",
    "talk_over": "Talk it over with my clinician",
    "use_proposal": "Use that",
}
SMALLER_FIRST_STEP = "just the first step of it: {step}"
LOWER_BAR = "{step}, any way at all (a rough try counts)"
NO_NAME = "there"
TRAP_LINE = "• {label}: {why}"
ASK_OWN_SMALLER = "What smaller version would feel easy? Write it in your words."
PROPOSE_SMALLER = 'How about: "{proposal}"? Use it, or write your own.'
MARKED_TALK_OVER = "Marked to talk over with your clinician. It stays as it is until then."
KEPT = "Okay, it stays as it is. Thanks for checking in."
RETHINK_OFFER = (
    "This one hasn't found its place this week yet, and that's useful to know. "
    "Want to make it smaller or change when it happens?"
)
STEP_UP_OFFER = (
    "That's {count} times in a row. If it feels right, want to try a slightly bigger "
    "version? Only if you'd like to."
)
STEP_UP_YES = "Yes, a little bigger"
ASK_STEP_UP = "What would the slightly bigger version be?"

# ---------------------------------------------------------------- nudges
CHECKIN = "How did today's practice go? {step}"
LATER = "Later"
SNOOZE_WHEN = "Sure. When should I come back to it?"
SNOOZE_OPTIONS = {"30": "In 30 minutes", "120": "In 2 hours", "evening": "This evening"}
SNOOZED = "Okay, I'll come back to it around {time}."
SNOOZED_ALREADY = "I'm already coming back to this one around {time}."
PAUSED_ALL = "All practices are paused. No nudges until you send /resume."
PAUSED_ALL_UNTIL = "All practices are paused until {day}. Enjoy the break."
PAUSE_DATE_UNKNOWN = 'I couldn\'t read that date. Try "/pause until 12 Dec", or just /pause.'
PAUSE_DATE_PAST = (
    "{day} isn't ahead of us, so that pause would hold nothing back. Which day would you like "
    'nudges back? For example "/pause until 12 Dec", or just /pause.'
)
RESUMED_ALL = "Welcome back. Nudges are on again."
NOT_PAUSED = "Nothing is paused right now."
QUIET_NOW = (
    "Quiet hours: {start}–{end}. Nothing is sent inside them; a nudge due then is {mode}.\n"
    "To change them, send e.g. /quiet 22:00-07:00."
)
QUIET_MODE_DEFER = "moved to their end"
QUIET_MODE_SKIP = "skipped"
QUIET_MOVE = "Move nudges to the end"
QUIET_SKIP = "Skip those nudges"
QUIET_UNKNOWN = "I couldn't read those hours. Try /quiet 22:00-07:00."
QUIET_SAVED = "Quiet hours are now {start}–{end}."
CHECKIN_NOW = (
    "I check in at {time} on days with a nudge and no answer yet. "
    "To change it, send e.g. /checkin 20:30."
)
CHECKIN_SAVED = "Check-ins now come around {time}."

# ---------------------------------------------------------------- voice notes
VOICE_GOT_IT = "Got it, writing it down…"
VOICE_HEARD = (
    "Here's what I heard:\n\n{transcript}\n\n"
    "If I got something wrong, reply to this message with the right words."
)
VOICE_USE = "Use this as my answer"
VOICE_NO_WORDS = "I couldn't hear any words in that one; want to try again or type it?"
VOICE_UNREADABLE = "I couldn't open that recording. Could you send it again, or type it instead?"
VOICE_TOO_LONG = (
    "That note is longer than I can take (up to {minutes} minutes). "
    "Could you send a shorter one, or type it?"
)
VOICE_TOO_BIG = (
    "That file is too big for me to fetch (Telegram lets bots download up to 20 MB). "
    "Could you send a shorter note, or type it?"
)
VOICE_LONGER_THAN_IT_SAYS = (
    "That recording runs longer than it says it does, so I've set it aside. "
    "I can take notes of up to {minutes} minutes: could you record it again, or type it?"
)
VOICE_PROBLEMS = {
    "unreadable": VOICE_UNREADABLE,
    "too_long": VOICE_TOO_LONG,
    "too_big": VOICE_TOO_BIG,
    "longer_than_claimed": VOICE_LONGER_THAN_IT_SAYS,
}
VOICE_NOT_AUDIO = "I can only listen to voice notes and audio files."
CORRECTION_SAVED = "Thanks, I've kept your words. What I first heard is kept too, just in case."
VOICE_ANSWER_STALE = "We've moved on from that question. Here's where we are:"

# ---------------------------------------------------------------- thought records
WRITE_THOUGHT_RECORD = "Write it down as a thought record"
THOUGHT_BUTTON = "Thought record"
THOUGHT_START = (
    "Let's write down a thought record, one step at a time. You can type or send a voice note."
)
ASK_SITUATION = "What was happening? Where were you, what was going on?"
ASK_THOUGHT = "What went through your mind?"
ASK_BELIEF = "How much do you believe that thought, from 0 to 100?"
ASK_FEELING = "What did you feel? (For example: anxious, sad, angry, ashamed.)"
ASK_INTENSITY = "How strong was that feeling, from 0 to 100?"
ASK_TRAP = "Does the thought fit any of these thinking traps?\n\n{traps}"
TRAPS = {
    "mind_reading": ("Mind reading", "assuming you know what others think"),
    "catastrophising": ("Catastrophising", "expecting the worst possible outcome"),
    "all_or_nothing": ("All-or-nothing", "seeing things as total success or total disaster"),
    "fortune_telling": ("Fortune telling", "predicting how things will turn out"),
    "should_statements": ("Should statements", "rigid rules about how things must be"),
    "labelling": ("Labelling", 'a single word for a whole person, like "idiot"'),
    "discounting": ("Discounting the positive", 'good things "don\'t count"'),
    "emotional_reasoning": ("Emotional reasoning", '"I feel it, so it must be true"'),
    "not_sure": ("Not sure", "that's fine too"),
}
ASK_BALANCED = "What might be a more balanced way to see it? What would you tell a friend?"
ASK_BELIEF_AFTER = (
    "Looking at the original thought again: how much do you believe it now, 0 to 100?"
)
ASK_INTENSITY_AFTER = "And how strong is the feeling now, 0 to 100?"
THOUGHT_SAVED = "Saved. Well done for taking the time.\n\n{card}"


def thought_card(
    *,
    situation: str,
    thought: str,
    belief_before: int,
    feeling: str,
    intensity_before: int,
    trap: str,
    balanced: str,
    belief_after: int,
    intensity_after: int,
) -> str:
    """The whole thought record as one card."""
    return (
        f"Situation: {situation}\n"
        f"Thought: {thought} ({belief_before}%)\n"
        f"Feeling: {feeling} ({intensity_before}/100)\n"
        f"Thinking trap: {TRAPS[trap][0]}\n"
        f"More balanced: {balanced}\n"
        f"Now: belief {belief_after}%, feeling {intensity_after}/100"
    )


# ---------------------------------------------------------------- clinicians and sharing
CLINICIAN_CLOSED = "Clinician registration isn't open on this bot."
CLINICIAN_WRONG_CODE = "That code doesn't match. Please check it with whoever runs this bot."
CLINICIAN_TOO_MANY = "Too many wrong codes. Please ask whoever runs this bot for help."
CLINICIAN_WELCOME = (
    "You're registered as a clinician. /invite gives a one-time code for a client; "
    "/summary shows the clients who share with you."
)
CLINICIAN_ONLY = "That's for clinicians. /help shows what I can do."
INVITE_CODE = (
    "Give this code to your client: {code}\nThey send /link {code}. It works once, until {until}."
)
LINK_USAGE = "Send /link followed by the code your clinician gave you."
LINK_UNKNOWN = "That code doesn't work: it may be mistyped, used already, or expired."
CODE_TOO_MANY = (
    "That's several codes that didn't work, so let's pause here. Please try again in an hour."
)
LINK_PREVIEW = (
    "{name} would see, from today on:\n"
    "• your practices and when they happen\n"
    "• how each went (did it / partly / not today) and what got in the way\n"
    "• changes you made, your reflections and thought records (with voice transcripts)\n"
    "• anything you mark to talk over\n"
    "• any message where you mentioned crisis words, so they can check in with you\n\n"
    "You can stop sharing any time with /sharing. Share with {name}?"
)
LINK_YES = "Yes, share"
LINK_NO = "Not now"
LINKED = "Done. {name} can now see your summary. /sharing shows who can see it."
LINK_DECLINED = "Okay, nothing is shared."
ALREADY_SHARING = "You already share with {name}: nothing changes. /sharing shows it."
SHARING_NONE = "You're not sharing with anyone."
SHARING_WITH = "You share with {name} since {since}."
SHARING_LOOKS = "Last looked: {when}."
SHARING_NEVER_LOOKED = "They haven't looked yet."
SHARING_STOP = "Stop sharing"
SHARING_STOPPED = "Stopped. {name} sees nothing new from now on."
SUGGEST_USAGE = "Send /suggest, the client's number or name, then the practice in a few words."
SUGGESTION = (
    '{name}, your clinician, suggests a practice: "{text}"\n'
    "Want to shape it into your own, with a size and a moment that suit you?"
)
SUGGESTION_YES = "Shape it with me"
SUGGESTION_NO = "Not now"
SUGGESTION_UNDELIVERED = (
    "I couldn't pass that on: {name} has stopped me for now, so nothing was suggested."
)
SUGGESTION_SENT = "Sent to {name}. They'll shape it with me, or let it be for now."
SUGGESTION_DECLINED = "Okay, let's leave it for now. You can mention it in your next session."
SUGGESTION_DECLINED_NOTE = '{name} chose not to take up "{text}" for now.'
SUPPORTER_CHOOSE = (
    'A supporter (a parent, a friend) can cheer you on. They never see "not today" '
    "answers or thought records. What should they get?"
)
SUPPORTER_TRIED_ONLY = 'Only "tried today" notes'
SUPPORTER_WEEKLY = "Those, and the week's count"
SUPPORTER_CODE = (
    "Give them this code: {code}\nThey send /support {code} to me. It works once, until {until}."
)
SUPPORTERS_NOW = "Your supporters:"
SUPPORTER_REMOVE = "Remove {name}"
SUPPORTER_REMOVED = "Removed. {name} gets nothing more from me."
SUPPORT_USAGE = "Send /support followed by the code your friend gave you."
SUPPORT_LINKED = (
    "Thank you for supporting {name}. I'll let you know when they've tried their practice, "
    "and you can send a short kind word back."
)
SUPPORTER_JOINED = (
    "{name} used your code and is now your supporter: they'll hear when you've tried your "
    "practice. If that isn't who you meant, remove them here."
)
SUPPORT_TRIED = "{name} tried their practice today."
SUPPORT_WEEK = " Tries this week: {count}."
SUPPORT_REPLY = "Send a kind word"
SUPPORT_ASK_REPLY = "What would you like to say to {name}? A line or two."
SUPPORT_SENT = "Passed on. Thank you."
SUPPORT_MESSAGE = "{name} says: {text}"
SUMMARY_NO_CLIENTS = "No clients share with you yet. /invite gives a code to hand to one."
SUMMARY_HEADER = "Your clients, most in need of attention first (last 7 days):"
SUMMARY_LINE = "{number}. {name}: tried {tries}, not today {not_today}; {last}{talk}"
SUMMARY_LAST_REPORT = "last report {days} days ago"
SUMMARY_NO_REPORT = "no reports yet"
SUMMARY_REPORTED_TODAY = "reported today"
SUMMARY_TALK_FLAG = " ⚑ talk it over"
SUMMARY_UNKNOWN_CLIENT = (
    "I can't find that client among those who share with you. /summary lists them."
)
SUMMARY_TITLE = "{name}, {since} to {until}"
SUMMARY_COUNTS = (
    "Tried {did}, partly {partly}, not today {not_today} of {planned} nudges ({trend})"
)
TREND_UP = "more than the period before"
TREND_DOWN = "fewer than the period before"
TREND_SAME = "same as the period before"
SUMMARY_OBSTACLES = "What got in the way: {items}"
SUMMARY_CHANGE = "Changed: {change}"
CHANGE_AFTER = "{before} → {after}, after {times} × {reason}"
CHANGE_BY = "{before} → {after} ({reason})"
CHANGE_REASONS = {
    "edit": "changed by the client",
    "client": "by the client",
    "step_up": "a step up",
}
SUMMARY_REFLECTION = "Reflection: {text}"
SUMMARY_THOUGHTS_TITLE = "Thought records:"
SUMMARY_VOICE_TITLE = "Voice notes:"
SUMMARY_NOTHING = "Nothing reported in this period."
CHART_TRIED = "tried"
CHART_PARTLY = "partly"
CHART_NOT_TODAY = "not today"
CHART_NO_ANSWER = "no answer"
CHART_CAPTION = "{name}: each practice, day by day"
EXPORT_CAPTION = "{name}: practices day by day (CSV)"

# ---------------------------------------------------------------- your data: /mydata, /forget
MYDATA_NOTHING = "I don't have anything stored about you. /start whenever you'd like to begin."
MYDATA_CAPTION = (
    "Everything I have stored about you, as a JSON file. /forget erases it all, if you wish."
)
MYDATA_THOUGHTS_CAPTION = "Your thought records, to read."
MYDATA_THOUGHTS_TITLE = "Your thought records from Between ({count})"
MYDATA_THOUGHT_HEADER = "{number}. {when}"
FORGET_ASK = (
    "This erases everything I have stored about you: your practices and how they went, "
    "thought records, voice notes and transcripts, your settings, and any sharing with a "
    "clinician or supporter. It cannot be undone.\n\n"
    "/mydata gives you a copy first, if you'd like one. Erase everything?"
)
FORGET_YES = "Yes, erase everything"
FORGET_NO = "No, keep it"
FORGET_KEPT = "Okay, nothing was erased."
FORGET_DONE = (
    "Done. I've erased everything I had stored about you. "
    "If you write to me again, I'll start fresh."
)
FORGET_ALREADY = "That's already done: I have nothing stored about you."
FORGET_TELEGRAM = (
    "Telegram keeps this chat on its side, and I can't delete it there. To delete it from "
    "your Telegram, press and hold this chat in your chat list (on iPhone, swipe left on it) "
    'and choose "Delete". You can also stop me from my profile: tap my name at the top.'
)
FORGET_STALE = (
    "That button is from an earlier message, so nothing was erased. "
    "Send /forget if you'd like to erase everything."
)

# ---------------------------------------------------------------- safety
# Words that get the crisis resources at once instead of any coaching. Matched as whole
# words after folding case and dropping apostrophes; CRISIS_PHRASES adds to this list.
CRISIS_PHRASES = (
    "kill myself",
    "killing myself",
    "kill my self",
    "end my life",
    "ending my life",
    "end it all",
    "ending it all",
    "take my own life",
    "take my life",
    "suicide",
    "suicides",
    "suicidal",
    "want to die",
    "wanna die",
    "want to be dead",
    "better off dead",
    "dont want to live",
    "do not want to live",
    "dont want to be alive",
    "do not want to be alive",
    "no reason to live",
    "hurt myself",
    "hurting myself",
    "harm myself",
    "harming myself",
    "self harm",
    "self harming",
    "cut myself",
    "cutting myself",
    "overdose",
)
CRISIS_REPLY = (
    "Thank you for telling me. I'm a practice companion, not a crisis service, and I want "
    "you to have real help now.\n\n{crisis}\n\n"
    "If you can, let your clinician or someone you trust know how you're feeling."
)
SOS = "{crisis}\n\nI'm a practice companion, not a crisis service or medical advice."
SUMMARY_CRISIS_TITLE = "⚠ Crisis words (the crisis resources were sent at once):"
SUMMARY_CRISIS_ITEM = "{day} ({source}): “{words}”"
SUMMARY_CRISIS_FLAG = " ⚠ crisis words"
CRISIS_SOURCES = {"message": "message", "voice": "voice note"}

# ---------------------------------------------------------------- general
HELP = (
    "What I can do:\n"
    "/new – set up a small practice\n"
    "/done – tell me how a practice went\n"
    "/practices – see, change, pause or remove practices\n"
    "/thought – a thought record (voice notes welcome)\n"
    "/timezone – change your timezone\n"
    "/pause – pause nudges, e.g. /pause until 12 Dec; /resume – restart\n"
    "/quiet – quiet hours; /checkin – check-in time\n"
    "/link CODE – share with your clinician; /sharing – see or stop it\n"
    '/supporter – someone to cheer you on (never sees "not today")\n'
    "/mydata – a copy of your data; /forget – erase it\n"
    "/cancel – stop what we're doing\n"
    "/help – this list; /sos – crisis resources\n\n"
    "{crisis}"
)
# The line each command has in Telegram's menu (handlers/router.py: COMMANDS, in its order).
COMMAND_MENU = {
    "new": "set up a small practice",
    "done": "tell me how a practice went",
    "practices": "see, change, pause or remove practices",
    "timezone": "change your timezone",
    "language": "the language of your voice notes",
    "thought": "write a thought record, by text or voice",
    "sharing": "see or stop sharing with your clinician",
    "supporter": "invite or remove someone who cheers you on",
    "pause": "pause all nudges, optionally until a date",
    "resume": "turn nudges back on",
    "quiet": "see or change quiet hours",
    "checkin": "see or change the evening check-in time",
    "cancel": "stop what we're doing",
    "mydata": "a copy of everything I keep about you",
    "forget": "erase everything I keep about you",
    "help": "what I can do, and crisis resources",
    "sos": "crisis resources, now",
}
CANCELLED = "Okay, we've stopped there. Nothing was changed."
NOTHING_TO_CANCEL = "There's nothing to stop right now. /help shows what I can do."
FALLBACK = (
    "I'm here. To tell me how a practice went, send /done; to set one up, /new. "
    "/help lists everything."
)
NEED_TEXT = "I can only read typed words here for now. Could you type your answer?"
EDIT_NOT_SEEN = (
    "I only read new messages, so I didn't see that edit. "
    "If you meant to change your answer, could you send it again?"
)
PRIVATE_ONLY = (
    "I only work in a private chat, so what people share with me stays private. "
    "Tap my name and send me /start there."
)
TOO_LONG = (
    "That's a bit long for this answer (up to {limit} characters). "
    "Could you say it in a sentence or two?"
)
EMPTY_ANSWER = "I didn't catch any words there. Could you type your answer?"
NUMBER_NEEDED = "A number from {low} to {high} is all I need here."
STALE_BUTTON = "That button is from an earlier message. Here's where we are:"
STALE_BUTTON_SHORT = "That button is from an earlier message."
UNKNOWN_BUTTON = "I don't recognise that button. /help shows what I can do."
UNKNOWN_COMMAND = "I don't know that command. /help lists the ones I have."
RESUMING = "We were in the middle of something. Here's where we are:"
SOMETHING_WENT_WRONG = (
    "Something went wrong on my side. Nothing you told me before this was lost. "
    "Could you try that again in a moment?"
)
# The database or Telegram is briefly away: what they sent is kept and will be answered.
TRY_AGAIN_SOON = (
    "Something went wrong on my side, sorry. I've kept what you sent and I'll try again "
    "in a moment. There's nothing you need to do."
)
# A report button pressed a second time on the same message (a double tap).
ALREADY_NOTED = "Already noted, thank you."

# ---------------------------------------------------------------- formatting


def clock(value: time | datetime) -> str:
    return value.strftime("%H:%M")


def describe_days(days: str) -> str:
    names = days.split(",")
    if len(names) == 7:
        return "Every day"
    if names == ["mon", "tue", "wed", "thu", "fri"]:
        return "Weekdays"
    if names == ["sat", "sun"]:
        return "Weekends"
    return ", ".join(DAY_NAMES[name] for name in names)


def describe_when(days: str, cue_time: time) -> str:
    """Return e.g. "weekdays around 07:30"."""
    described = describe_days(days)
    if described not in ("Every day", "Weekdays", "Weekends"):
        described = f"on {described}"
    return f"{described[0].lower()}{described[1:]} around {clock(cue_time)}"


def practice_card(
    *,
    step: str,
    anchor: str,
    days: str,
    cue_time: time,
    if_then: str | None,
    reward: str | None,
) -> str:
    """One line in the client's words, then the optional plan and reward."""
    described = describe_days(days)
    lines = [f"{described} around {clock(cue_time)}, {anchor}: {step}"]
    if if_then:
        lines.append(f"Plan: {if_then}")
    if reward:
        lines.append(f"Reward: {reward}")
    return "\n".join(lines)


def nudge(anchor: str, step: str, if_then: str | None) -> str:
    """The nudge in the client's words: "While my coffee brews: one clear sentence out loud"."""
    text = f"{anchor[:1].upper()}{anchor[1:]}: {step}"
    return f"{text}\n{YOUR_PLAN.format(if_then=if_then)}" if if_then else text
