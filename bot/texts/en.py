"""Every word Between says to people, in English, in one place for clinicians to review.

Tone rules: never "homework", "assignment", "failed", "missed", "streak broken"
or "you should"; every try counts, partly is a success, a skip is data; short messages, one
question at a time.
"""

from __future__ import annotations

from bot.texts.marks import N_, _

CONSENT_VERSION = "2026-11-21"
# Sharing with a clinician; from this version the preview lists crisis-word messages.
SHARE_CONSENT_VERSION = "2026-11-21.2"
CRISIS_SHARED_SINCE = "2026-11-21.2"

# ---------------------------------------------------------------- onboarding
WELCOME = _("Hi {name}, I'm Between: a companion for the days between your therapy sessions.")
WHAT_I_DO = _(
    "Together we set up a small practice, tied to a moment you already have in your day. "
    "I'll nudge you at that moment and ask kindly how it went. Every try counts, "
    'and "not today" is useful to know too.'
)
NOT_A_CRISIS_SERVICE = _("I'm not a crisis service and I can't give medical advice. {crisis}")
DEFAULT_CRISIS = _(
    "If you are in danger or need urgent help, please contact your local emergency "
    "services now, or a crisis line where you live."
)
PRIVACY = _(
    "What I keep: your practices, how they went, and what you write or say to me here. "
    "Only you see it, unless you choose to share it with your clinician. "
    "Telegram chats with bots are not end-to-end encrypted.\n\n"
    "Is that okay with you?"
)
CONSENT_YES = _("Yes, that's okay")
CONSENT_NO = _("Not now")
CONSENT_DECLINED = _(
    "That's completely fine. I won't keep anything about your practices. "
    "Send /start whenever you'd like to begin."
)
CONSENT_NEEDED = _("Before we start, I need your okay on what I keep. Send /start to see it.")
BUTTON_BEFORE_CONSENT = _(
    "That button is from an earlier message. Before we go on, I need your okay on what I keep: "
    "send /start to see it."
)
ASK_TIMEZONE = _(
    "Which city or timezone are you in? For example: London, New York, Europe/Berlin. "
    "I use it so nudges arrive at your local time."
)
TIMEZONE_UNKNOWN = _(
    "I don't know that place yet. Could you try a nearby big city, "
    "or a timezone name like Europe/Berlin?"
)
TIMEZONE_CONFIRM = _("{zone}: it's {local_time} there now. Is that right?")
TIMEZONE_RIGHT = _("Yes, that's right")
TIMEZONE_WRONG = _("No, change it")
TIMEZONE_SAVED = _("Got it. Your nudges will follow {zone} time.")
LANGUAGE_NOW = _("I listen to your voice notes in {language}. ")
LANGUAGE_PICK = _(
    "Which language do you speak in your voice notes? You can also send a code, like /language es."
)
LANGUAGE_UNKNOWN = _(
    "I don't know that language yet. Could you pick one below, or send a code like /language es?"
)
LANGUAGE_SAVED = _("Got it. I'll listen to your voice notes in {language}.")
READY_FOR_FIRST = _("Whenever you're ready, /new sets up your first small practice.")
WELCOME_BACK = _("Welcome back, {name}. /practices shows what you have; /help shows everything.")

# ---------------------------------------------------------------- designing a practice
ASK_GOAL = _(
    "What would you like to practise? In your own words, "
    'for example "speaking up", "a short walk" or "breathing slowly".'
)
ASK_STEP = _(
    "What's the smallest version of that which would still count? "
    'Make it almost too easy, like "say one clear sentence out loud". It can also be '
    'something to notice, like "notice when I start to avoid something".'
)
ASK_CONFIDENCE = _("How sure are you that you'd do this, from 0 to 10?")
CONFIDENCE_LOW = _(
    "Thanks for being honest. Let's make it easier, so it feels like a 9. "
    "What's an even smaller version? Or keep it as it is."
)
KEEP_AS_IS = _("Keep it as it is")
ASK_ANCHOR = _(
    "When in your day could it fit? Pick a moment you already have, "
    'like "while my coffee brews" or "after I brush my teeth".'
)
ANCHOR_SUGGESTIONS = (
    _("After I wake up"),
    _("While my coffee brews"),
    _("After lunch"),
    _("Before bed"),
)
ASK_DAYS = _("Which days?")
DAYS_EVERY = _("Every day")
DAYS_WEEKDAYS = _("Weekdays")
DAYS_CHOOSE = _("Choose days")
DAYS_PICK = _("Tap the days you'd like, then Done.")
DAYS_DONE = _("Done")
DAYS_NONE_PICKED = _("Pick at least one day, then Done.")
DAYS_UNKNOWN = _(
    'I couldn\'t read those days. Try "every day", "weekdays" or names like "mon wed fri".'
)
ASK_TIME = _("About what time is that, usually? For example 7:30, 7.30am or 19:30.")
TIME_UNKNOWN = _("I couldn't read that as a time. Try something like 7:30, 7.30am or 19:30.")
ASK_IF_THEN = _(
    "What's most likely to get in the way? You can make a plan for it: "
    '"If ___, then I will ___". Or skip this.'
)
ASK_REWARD = _(
    "Is there a small reward you'd enjoy right after? A favourite song, a cup of tea, "
    'or a rule like "ten minutes of reading earns two minutes of my game". Or skip this.'
)
SKIP = _("Skip")
CONFIRM_INTRO = _("Here's your practice, in your words:")
CONFIRM_SAVE = _("Looks right")
CONFIRM_EDIT = _("Change something")
EDIT_WHICH = _("What would you like to change?")
FIELD_LABELS = {
    "goal": _("What I practise"),
    "step": _("Smallest version"),
    "anchor": _("The moment"),
    "days": _("Days"),
    "time": _("Time"),
    "if_then": _("If-then plan"),
    "reward": _("Reward"),
    "space": _("In plain view"),
}
PRACTICE_SAVED = _(
    "Saved. I'll nudge you {when}. You can tell me how it went any time with /done."
)
PRACTICE_LIMIT = N_(
    "You have {count} practice already, as many as I can keep well at once. If it has done "
    "its work, /practices lets you remove it, and then there's room for a new one.",
    "You have {count} practices already, as many as I can keep well at once. If one has done "
    "its work, /practices lets you remove it, and then there's room for a new one.",
)

# ---------------------------------------------------------------- listing and editing
NO_PRACTICES = _("You don't have a practice yet. /new sets one up.")
PRACTICES_HEADER = _("Your practices:")
PAUSED_MARK = _(" (paused)")
EDIT = _("Change")
PAUSE = _("Pause")
RESUME = _("Resume")
REMOVE = _("Remove")
REMOVE_CONFIRM = _("Remove this practice? What you reported stays in your history.")
REMOVE_YES = _("Yes, remove it")
REMOVE_NO = _("No, keep it")
REMOVED = _("Removed. /new sets up another whenever you like.")
PAUSED = _("Paused. No nudges for this one until you resume it.")
RESUMED = _("Resumed. Next nudge {when}.")
CHANGED = _("Changed. Here it is now:")
NOTHING_CHANGED = _("Okay, nothing changed.")
PRACTICE_GONE = _("That practice isn't there anymore. /practices shows what you have.")

# ---------------------------------------------------------------- reporting
WHICH_PRACTICE = _("Which practice?")
HOW_DID_IT_GO = _("How did it go: {step}?")
DID_IT = _("Did it")
PARTLY = _("Partly")
NOT_TODAY = _("Not today")
ACK_DID = _("That's a real try, and it counts. Well done.")
ACK_PARTLY = _("Partly is a success. Every try counts.")
REWARD_NOW = _("Time for your reward: {reward}.")
ASK_REFLECTION = _("One line, if you like: what made it easier? A voice note works too.")
REFLECTION_SAVED = _("Thanks, noted.")
ACK_NOT_TODAY = _("Thanks for telling me; that's useful, not a failure. What got in the way?")
OBSTACLES = {
    "forgot": _("Forgot"),
    "too_big": _("Too big or too long"),
    "no_time": _("No time"),
    "pressure": _("Felt pressure to do it perfectly"),
    "not_useful": _("Didn't feel useful right now"),
    "other": _("Something else"),
}
ASK_OTHER_OBSTACLE = _("What got in the way? A few words is plenty.")
YOUR_PLAN = _("Your plan for this: {if_then}")
OFFER_FOR = {
    "forgot": _("Let's make the moment easier to notice. What would help?"),
    "too_big": _("Let's make it smaller. Which of these fits?"),
    "no_time": _("Would a smaller version or other days fit better?"),
    "pressure": _(
        "You can't fail at this: any try counts, even a rough one. "
        'Want to lower the bar? How about: "{proposal}"?'
    ),
    "not_useful": _("Thanks for saying so. What would you like to do with it?"),
    "other": _("Thanks. Would any of these help?"),
}
OPTION_LABELS = {
    "anchor": _("Tie it to another moment"),
    "time": _("Change the time"),
    "smaller": _("Make it smaller"),
    "own_smaller": _("I'll write my own"),
    "days": _("Other days"),
    "lower_bar": _("Yes, lower the bar"),
    "keep": _("Keep it as it is"),
    "pause": _("Pause it for now"),
    "talk_over": _("Talk it over with my clinician"),
    "use_proposal": _("Use that"),
    "first_move": _("Just the first move, or getting ready"),
    "space": _("Put something in plain view"),
    "drop": _("Let it go for now"),
}
LOWER_BAR = _("{step}, any way at all (a rough try counts)")
NO_NAME = _("there")
TRAP_LINE = _("• {label}: {why}")
ASK_OWN_SMALLER = _("What smaller version would feel easy? Write it in your words.")
PROPOSE_SMALLER = _('How about: "{proposal}"? Use it, or write your own.')
MARKED_TALK_OVER = _("Marked to talk over with your clinician. It stays as it is until then.")
KEPT = _("Okay, it stays as it is. Thanks for checking in.")
RETHINK_OFFER = _(
    "This one hasn't found its place this week yet, and that's useful to know. "
    "Want to make it smaller or change when it happens?"
)
STEP_UP_OFFER = N_(
    "That's {count} time in a row. If it feels right, want to try a slightly bigger "
    "version, or the same somewhere new? Only if you'd like to.",
    "That's {count} times in a row. If it feels right, want to try a slightly bigger "
    "version, or the same somewhere new? Only if you'd like to.",
)
STEP_UP_YES = _("Yes, a little bigger")
ASK_STEP_UP = _("What would the slightly bigger version be?")

# ---------------------------------------------------------------- shaping a practice further
# Rehearse the first step (reference 000: "Rehearse the First Step in Session").
REHEARSE_OFFER = _("Want to try the tiniest version right now, just once?")
REHEARSE_YES = _("Yes, right now")
REHEARSE_NO = _("Not now")
REHEARSE_GO = _("Go ahead, I'll wait: {step}. However it goes, tell me when you've tried it.")
REHEARSE_TRIED = _("I tried it")
REHEARSE_DONE = _("That's your first try, and it counts. Well done.")
REHEARSE_LATER = _("That's fine. I'll nudge you at the moment you chose.")
# Smaller versions that fit the articles' examples (000: "once this week instead of five?").
VERSION_LABELS = {
    "shorter": _("Shorter: {step}"),
    "fewer": _("Once this week instead of {was}"),
    "voice": _("By voice: {step}"),
}
ONCE = _("once")
ONCE_THIS_WEEK = _("once this week")
EVERY_DAY_WORDS = _("every day")
DAYS_A_WEEK = N_("{count} day a week", "{count} days a week")
SAY = _("say")
IN_A_VOICE_NOTE = _("{step} in a voice note")
BY_VOICE_NOTE = _("{step}, by voice note")
ASK_FIRST_MOVE = _(
    "What's the very first move, or just getting ready? "
    'For example "open the notebook" or "put my shoes by the door".'
)
# Set up the space (000: "Design Spaces That Nudge Quick Starts").
ASK_SPACE = _(
    "What could you put in plain view, where it happens? "
    'For example "the notebook is on the kettle".'
)
SPACE_LINE = _("In plain view: {space}")
# Notice first, act later (001: "Introduce Concepts, Delay Behavior Changes").
NOTICING_MARK = _("Something to notice: I'll ask whether you noticed it.")
NOTICE_QUESTION = _("Did you notice it today? {step}")
NUDGE_NOTICE = _("Did you notice it today?")
NOTICED_IT = _("Noticed it")
NOT_THIS_TIME = _("Not this time")
ACK_NOTICED = _("You noticed it. That is the practice, and it counts.")
ACK_NOT_NOTICED = _("That's fine: noticing comes and goes. I'll ask again next time.")
ASK_NOTICE_REFLECTION = _(
    "One line, if you like: what was happening when you noticed it? A voice note works too."
)
ACT_OFFER = N_(
    "You've noticed it {count} time now. Want to turn it into one small thing to do "
    "when you notice it? Only if you'd like to.",
    "You've noticed it {count} times now. Want to turn it into one small thing to do "
    "when you notice it? Only if you'd like to.",
)
ACT_YES = _("Yes, a small action")
ASK_ACTION = _(
    "What small thing could you do when you notice it? "
    'For example "take one slow breath, then say what I need".'
)
# Rewards that fit and fade (000: "the reward can be faded as confidence grows").
REWARD_RULE_NOW = _("Your rule: {reward}. Enjoy it.")
ASK_FADE = _(
    'Your reward has been "{reward}". Keep it, or let it fade now that this is getting easier?'
)
FADE_KEEP = _("Keep the reward")
FADE_YES = _("Let it fade")
FADED = _("Okay, the reward fades. The practice is becoming your own.")
REWARD_KEPT = _("The reward stays. Enjoy it.")
# Practice across settings (004: "varying practice conditions").
STEP_UP_NEW = _("The same, somewhere new")
ASK_SOMEWHERE_NEW = _(
    "Where or when would be new for it? Pick a moment you already have, "
    'like "at work after lunch" or "when I\'m with a friend".'
)
# Motivation or friction (000: "Is this a motivation issue, or a friction issue?").
ASK_WORTH = _(
    "Thanks for saying so; that matters. What would make it worth doing for you? "
    "In your own words; your clinician will see them. Or skip this."
)
WORTH_SAVED = _("Thank you. I've kept your words for your clinician.")
NOT_USEFUL_PATTERN = _(
    "This one hasn't felt useful for a while, and that's worth knowing. "
    "What would you like to do with it?"
)
DROPPED = _(
    "Okay, it's set aside. What you reported stays in your history, "
    "and /new sets up another whenever you like."
)
# Change the modality (000: "what about a voice note rather than paper?").
VOICE_GOT_IT_REFLECTION = _("Got it, writing it down… I'll keep it as your reflection.")
VOICE_HEARD_REFLECTION = _(
    "Here's what I heard, kept as your reflection:\n\n{transcript}\n\n"
    "If I got something wrong, reply to this message with the right words."
)

# ---------------------------------------------------------------- nudges
CHECKIN = _("How did today's practice go? {step}")
LATER = _("Later")
SNOOZE_WHEN = _("Sure. When should I come back to it?")
SNOOZE_OPTIONS = {"30": _("In 30 minutes"), "120": _("In 2 hours"), "evening": _("This evening")}
SNOOZED = _("Okay, I'll come back to it around {time}.")
SNOOZED_ALREADY = _("I'm already coming back to this one around {time}.")
PAUSED_ALL = _("All practices are paused. No nudges until you send /resume.")
PAUSED_ALL_UNTIL = _("All practices are paused until {day}. Enjoy the break.")
PAUSE_DATE_UNKNOWN = _('I couldn\'t read that date. Try "/pause until 12 Dec", or just /pause.')
PAUSE_DATE_PAST = _(
    "{day} isn't ahead of us, so that pause would hold nothing back. Which day would you like "
    'nudges back? For example "/pause until 12 Dec", or just /pause.'
)
RESUMED_ALL = _("Welcome back. Nudges are on again.")
NOT_PAUSED = _("Nothing is paused right now.")
QUIET_NOW = _(
    "Quiet hours: {start}–{end}. Nothing is sent inside them; a nudge due then is {mode}.\n"
    "To change them, send e.g. /quiet 22:00-07:00."
)
QUIET_MODE_DEFER = _("moved to their end")
QUIET_MODE_SKIP = _("skipped")
QUIET_MOVE = _("Move nudges to the end")
QUIET_SKIP = _("Skip those nudges")
QUIET_UNKNOWN = _("I couldn't read those hours. Try /quiet 22:00-07:00.")
QUIET_SAVED = _("Quiet hours are now {start}–{end}.")
CHECKIN_NOW = _(
    "I check in at {time} on days with a nudge and no answer yet. "
    "To change it, send e.g. /checkin 20:30."
)
CHECKIN_SAVED = _("Check-ins now come around {time}.")

# ---------------------------------------------------------------- the week and the next session
WEEK_TITLE = _("Your week, {since} to {until}")
WEEK_SILENT = _(
    "This week was a quiet one here, and that's okay: weeks are like that sometimes. "
    "Whenever you're ready, /done tells me how a try went."
)
WEEK_TRIED = N_(
    "{step}: you tried it {count} time. That counts.",
    "{step}: you tried it {count} times. Every try counts.",
)
WEEK_PARTLY = N_(
    "  {count} of them partly, and partly is a success too.",
    "  {count} of them partly, and partly is a success too.",
)
WEEK_HELPED_TITLE = _("What helped, in your words:")
WEEK_IN_THE_WAY_TITLE = _("What got in the way:")
WEEK_CHANGED_TITLE = _("What you changed:")
WEEK_ITEM = _("• {text}")
WEEK_ITEM_TIMES = N_("• {text} ({count} time)", "• {text} ({count} times)")
WEEK_QUOTE = _("“{text}”")
WEEK_CHANGE = _("• {before} → {after}")
WEEK_CHART_CAPTION = _("Your week, day by day")
WEEK_QUESTION = _("Looking at this week, how would you like the next one to be?")
WEEK_CHOICES = {
    "keep": _("Keep it as it is"),
    "bigger": _("A little bigger"),
    "smaller": _("A little smaller"),
    "talk": _("Talk it over with my clinician"),
}
WEEK_NO_PRACTICES = _("There's no practice to look back on yet. /new sets one up.")
WEEK_KEPT = _("Okay, it stays as it is. Thanks for looking back with me.")
WEEK_TALK_SAVED = _("Noted: you'd like to talk this week over with your clinician.")
WEEK_WHICH = _("Which practice?")
WEEK_PROPOSE_SMALLER = _('How about: "{proposal}"? Use it, or write your own.')
WEEK_USE = _("Use that")
WEEK_OWN = _("I'll write my own")
WEEK_WHEN_SET = _("Done: your look back comes every {day} around {time}.")
WEEK_WHEN_DEFAULT = _(
    "Done: your look back comes the evening before your next session, or on Sunday evening "
    "when none is noted."
)
WEEK_WHEN_UNKNOWN = _(
    "I couldn't read that. Try /week sun 18:00 for a day and time, or /week default."
)
SESSION_NONE = _(
    "I don't know when your next session is. Send e.g. /session thursday 10:00, "
    "or /session every Tuesday 17:30."
)
SESSION_NEXT = _(
    "Your next session: {when}. The evening before, I'll send you a look back at your week."
)
SESSION_WEEKLY = _(
    "Your sessions: every {day} at {time}; the next is {when}. The evening before each, "
    "I'll send you a look back at your week."
)
SESSION_UNKNOWN = _(
    "I couldn't read that. Try /session thursday 10:00 or /session every Tuesday 17:30; "
    "/session none clears it."
)
SESSION_PASSED = _("That time has passed already. When is the next one?")
SESSION_CLEARED = _("Okay, no session noted. Your look back comes on Sunday evening.")
SESSION_CLINICIAN_USAGE = _(
    "Send /session, the client's number or name, then e.g. thursday 10:00 or every Tuesday 17:30."
)
SESSION_SET_FOR = _("Noted: {name}'s next session is {when} ({zone} time).")
SESSION_SET_BY = _("{name}, your clinician, noted your next session: {when}. /session shows it.")
BRING_ASK = _(
    "Your session is tomorrow, {when}. Is there anything from this week you'd like to bring? "
    "Tap a note to mark it, or write a line."
)
BRING_WRITE = _("Write a line")
BRING_NOTHING = _("Nothing this time")
BRING_ASK_LINE = _("What would you like to bring? A line is plenty.")
BRING_SAVED = _("Marked to bring: “{text}”")
BRING_NONE_SAVED = _("Okay. See you at your session.")

# ---------------------------------------------------------------- voice notes
VOICE_GOT_IT = _("Got it, writing it down…")
VOICE_HEARD = _(
    "Here's what I heard:\n\n{transcript}\n\n"
    "If I got something wrong, reply to this message with the right words."
)
VOICE_USE = _("Use this as my answer")
VOICE_NO_WORDS = _("I couldn't hear any words in that one; want to try again or type it?")
VOICE_UNREADABLE = _(
    "I couldn't open that recording. Could you send it again, or type it instead?"
)
VOICE_TOO_LONG = N_(
    "That note is longer than I can take (up to {minutes} minute). "
    "Could you send a shorter one, or type it?",
    "That note is longer than I can take (up to {minutes} minutes). "
    "Could you send a shorter one, or type it?",
    "minutes",
)
VOICE_TOO_BIG = _(
    "That file is too big for me to fetch (Telegram lets bots download up to 20 MB). "
    "Could you send a shorter note, or type it?"
)
VOICE_LONGER_THAN_IT_SAYS = N_(
    "That recording runs longer than it says it does, so I've set it aside. "
    "I can take notes of up to {minutes} minute: could you record it again, or type it?",
    "That recording runs longer than it says it does, so I've set it aside. "
    "I can take notes of up to {minutes} minutes: could you record it again, or type it?",
    "minutes",
)
VOICE_PROBLEMS = {
    "unreadable": VOICE_UNREADABLE,
    "too_long": VOICE_TOO_LONG,
    "too_big": VOICE_TOO_BIG,
    "longer_than_claimed": VOICE_LONGER_THAN_IT_SAYS,
}
VOICE_NOT_AUDIO = _("I can only listen to voice notes and audio files.")
CORRECTION_SAVED = _("Thanks, I've kept your words. What I first heard is kept too, just in case.")
VOICE_ANSWER_STALE = _("We've moved on from that question. Here's where we are:")

# ---------------------------------------------------------------- thought records
WRITE_THOUGHT_RECORD = _("Write it down as a thought record")
THOUGHT_BUTTON = _("Thought record")
THOUGHT_START = _(
    "Let's write down a thought record, one step at a time. You can type or send a voice note."
)
ASK_SITUATION = _("What was happening? Where were you, what was going on?")
ASK_THOUGHT = _("What went through your mind?")
ASK_BELIEF = _("How much do you believe that thought, from 0 to 100?")
ASK_FEELING = _("What did you feel? (For example: anxious, sad, angry, ashamed.)")
ASK_INTENSITY = _("How strong was that feeling, from 0 to 100?")
ASK_TRAP = _("Does the thought fit any of these thinking traps?\n\n{traps}")
TRAPS = {
    "mind_reading": (_("Mind reading"), _("assuming you know what others think")),
    "catastrophising": (_("Catastrophising"), _("expecting the worst possible outcome")),
    "all_or_nothing": (_("All-or-nothing"), _("seeing things as total success or total disaster")),
    "fortune_telling": (_("Fortune telling"), _("predicting how things will turn out")),
    "should_statements": (_("Should statements"), _("rigid rules about how things must be")),
    "labelling": (_("Labelling"), _('a single word for a whole person, like "idiot"')),
    "discounting": (_("Discounting the positive"), _('good things "don\'t count"')),
    "emotional_reasoning": (_("Emotional reasoning"), _('"I feel it, so it must be true"')),
    "not_sure": (_("Not sure"), _("that's fine too")),
}
ASK_BALANCED = _("What might be a more balanced way to see it? What would you tell a friend?")
ASK_BELIEF_AFTER = _(
    "Looking at the original thought again: how much do you believe it now, 0 to 100?"
)
ASK_INTENSITY_AFTER = _("And how strong is the feeling now, 0 to 100?")
THOUGHT_SAVED = _("Saved. Well done for taking the time.\n\n{card}")
THOUGHT_CARD = _(
    "Situation: {situation}\n"
    "Thought: {thought} ({belief_before}%)\n"
    "Feeling: {feeling} ({intensity_before}/100)\n"
    "Thinking trap: {trap}\n"
    "More balanced: {balanced}\n"
    "Now: belief {belief_after}%, feeling {intensity_after}/100"
)


# ---------------------------------------------------------------- clinicians and sharing
CLINICIAN_CLOSED = _("Clinician registration isn't open on this bot.")
CLINICIAN_WRONG_CODE = _("That code doesn't match. Please check it with whoever runs this bot.")
CLINICIAN_TOO_MANY = _("Too many wrong codes. Please ask whoever runs this bot for help.")
CLINICIAN_WELCOME = _(
    "You're registered as a clinician. /invite gives a one-time code for a client; "
    "/summary shows the clients who share with you."
)
CLINICIAN_ONLY = _("That's for clinicians. /help shows what I can do.")
INVITE_CODE = _(
    "Give this code to your client: {code}\nThey send /link {code}. It works once, until {until}."
)
LINK_USAGE = _("Send /link followed by the code your clinician gave you.")
LINK_UNKNOWN = _("That code doesn't work: it may be mistyped, used already, or expired.")
CODE_TOO_MANY = _(
    "That's several codes that didn't work, so let's pause here. Please try again in an hour."
)
LINK_PREVIEW = _(
    "{name} would see, from today on:\n"
    "• your practices and when they happen\n"
    "• how each went (did it / partly / not today) and what got in the way\n"
    "• changes you made, your reflections and thought records (with voice transcripts)\n"
    "• anything you mark to talk over\n"
    "• any message where you mentioned crisis words, so they can check in with you\n\n"
    "You can stop sharing any time with /sharing. Share with {name}?"
)
LINK_YES = _("Yes, share")
LINK_NO = _("Not now")
LINKED = _("Done. {name} can now see your summary. /sharing shows who can see it.")
LINK_DECLINED = _("Okay, nothing is shared.")
ALREADY_SHARING = _("You already share with {name}: nothing changes. /sharing shows it.")
SHARING_NONE = _("You're not sharing with anyone.")
SHARING_WITH = _("You share with {name} since {since}.")
SHARING_LOOKS = _("Last looked: {when}.")
SHARING_NEVER_LOOKED = _("They haven't looked yet.")
SHARING_STOP = _("Stop sharing")
SHARING_STOPPED = _("Stopped. {name} sees nothing new from now on.")
SUGGEST_USAGE = _("Send /suggest, the client's number or name, then the practice in a few words.")
SUGGESTION = _(
    '{name}, your clinician, suggests a practice: "{text}"\n'
    "Want to shape it into your own, with a size and a moment that suit you?"
)
SUGGESTION_YES = _("Shape it with me")
SUGGESTION_NO = _("Not now")
SUGGESTION_UNDELIVERED = _(
    "I couldn't pass that on: {name} has stopped me for now, so nothing was suggested."
)
SUGGESTION_SENT = _("Sent to {name}. They'll shape it with me, or let it be for now.")
SUGGESTION_DECLINED = _("Okay, let's leave it for now. You can mention it in your next session.")
SUGGESTION_DECLINED_NOTE = _('{name} chose not to take up "{text}" for now.')
SUPPORTER_CHOOSE = _(
    'A supporter (a parent, a friend) can cheer you on. They never see "not today" '
    "answers or thought records. What should they get?"
)
SUPPORTER_TRIED_ONLY = _('Only "tried today" notes')
SUPPORTER_WEEKLY = _("Those, and the week's count")
SUPPORTER_CODE = _(
    "Give them this code: {code}\nThey send /support {code} to me. It works once, until {until}."
)
SUPPORTERS_NOW = _("Your supporters:")
SUPPORTER_REMOVE = _("Remove {name}")
SUPPORTER_REMOVED = _("Removed. {name} gets nothing more from me.")
SUPPORT_USAGE = _("Send /support followed by the code your friend gave you.")
SUPPORT_LINKED = _(
    "Thank you for supporting {name}. I'll let you know when they've tried their practice, "
    "and you can send a short kind word back."
)
SUPPORTER_JOINED = _(
    "{name} used your code and is now your supporter: they'll hear when you've tried your "
    "practice. If that isn't who you meant, remove them here."
)
SUPPORT_TRIED = _("{name} tried their practice today.")
SUPPORT_WEEK = _(" Tries this week: {count}.")
SUPPORT_REPLY = _("Send a kind word")
SUPPORT_ASK_REPLY = _("What would you like to say to {name}? A line or two.")
SUPPORT_SENT = _("Passed on. Thank you.")
SUPPORT_MESSAGE = _("{name} says: {text}")
SUMMARY_NO_CLIENTS = _("No clients share with you yet. /invite gives a code to hand to one.")
SUMMARY_HEADER = _("Your clients, most in need of attention first (last 7 days):")
SUMMARY_LINE = _("{number}. {name}: tried {tries}, not today {not_today}; {last}{talk}")
SUMMARY_LAST_REPORT = N_("last report {days} day ago", "last report {days} days ago", "days")
SUMMARY_NO_REPORT = _("no reports yet")
SUMMARY_REPORTED_TODAY = _("reported today")
SUMMARY_TALK_FLAG = _(" ⚑ talk it over")
SUMMARY_UNKNOWN_CLIENT = _(
    "I can't find that client among those who share with you. /summary lists them."
)
SUMMARY_TITLE = _("{name}, {since} to {until}")
SUMMARY_COUNTS = _(
    "Tried {did}, partly {partly}, not today {not_today} of {planned} nudges ({trend})"
)
# Reports came without any nudge in the period (sent with /done): said plainly.
SUMMARY_COUNTS_UNNUDGED = _(
    "Tried {did}, partly {partly}, not today {not_today}, reported without a nudge ({trend})"
)
SUMMARY_COUNTS_NONE = _("No nudges and no reports in this period")
SUMMARY_SINCE_SESSION = _("(since the last session)")
SUMMARY_NEXT_SESSION = _("Next session: {when}")
SUMMARY_WEEK_CHOICE = _("Weekly look back, {day}: {choice}")
WEEK_CHOICE_NOTES = {
    "keep": _("keep it as it is"),
    "bigger": _("a little bigger"),
    "smaller": _("a little smaller"),
    "talk": _("talk it over with you"),
}
SUMMARY_TO_BRING_TITLE = _("Marked to bring:")
TREND_UP = _("more than the period before")
TREND_DOWN = _("fewer than the period before")
TREND_SAME = _("same as the period before")
SUMMARY_OBSTACLES = _("What got in the way: {items}")
SUMMARY_CHANGE = _("Changed: {change}")
CHANGE_AFTER = _("{before} → {after}, after {times} × {reason}")
CHANGE_BY = _("{before} → {after} ({reason})")
CHANGE_REASONS = {
    "edit": _("changed by the client"),
    "client": _("by the client"),
    "step_up": _("a step up"),
    "new_setting": _("the same, somewhere new"),
    "fade": _("the reward faded"),
    "to_action": _("from noticing to a small action"),
    "week": _("after the week's look back"),
}
SUMMARY_REFLECTION = _("Reflection: {text}")
SUMMARY_NOTICINGS = _("Noticing practice: noticed {noticed}, not this time {not_noticed}")
SUMMARY_REHEARSALS = _("Rehearsed the first step: {count}")
SUMMARY_FADED = _("Reward faded: {count}")
SUMMARY_WORTH = _("What would make it worth doing: {text}")
SUMMARY_THOUGHTS_TITLE = _("Thought records:")
SUMMARY_VOICE_TITLE = _("Voice notes:")
SUMMARY_NOTHING = _("Nothing reported in this period.")
CHART_TRIED = _("tried")
CHART_PARTLY = _("partly")
CHART_NOT_TODAY = _("not today")
CHART_NO_ANSWER = _("no answer")
CHART_CAPTION = _("{name}: each practice, day by day")
EXPORT_CAPTION = _("{name}: practices day by day (CSV)")

# ---------------------------------------------------------------- your data: /mydata, /forget
MYDATA_NOTHING = _("I don't have anything stored about you. /start whenever you'd like to begin.")
MYDATA_CAPTION = _(
    "Everything I have stored about you, as a JSON file. /forget erases it all, if you wish."
)
MYDATA_THOUGHTS_CAPTION = _("Your thought records, to read.")
MYDATA_THOUGHTS_TITLE = _("Your thought records from Between ({count})")
MYDATA_THOUGHT_HEADER = _("{number}. {when}")
FORGET_ASK = _(
    "This erases everything I have stored about you: your practices and how they went, "
    "thought records, voice notes and transcripts, your settings, and any sharing with a "
    "clinician or supporter. It cannot be undone.\n\n"
    "/mydata gives you a copy first, if you'd like one. Erase everything?"
)
FORGET_YES = _("Yes, erase everything")
FORGET_NO = _("No, keep it")
FORGET_KEPT = _("Okay, nothing was erased.")
FORGET_DONE = _(
    "Done. I've erased everything I had stored about you. "
    "If you write to me again, I'll start fresh."
)
FORGET_ALREADY = _("That's already done: I have nothing stored about you.")
FORGET_TELEGRAM = _(
    "Telegram keeps this chat on its side, and I can't delete it there. To delete it from "
    "your Telegram, press and hold this chat in your chat list (on iPhone, swipe left on it) "
    'and choose "Delete". You can also stop me from my profile: tap my name at the top.'
)
FORGET_STALE = _(
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
CRISIS_REPLY = _(
    "Thank you for telling me. I'm a practice companion, not a crisis service, and I want "
    "you to have real help now.\n\n{crisis}\n\n"
    "If you can, let your clinician or someone you trust know how you're feeling."
)
SOS = _("{crisis}\n\nI'm a practice companion, not a crisis service or medical advice.")
SUMMARY_CRISIS_TITLE = _("⚠ Crisis words (the crisis resources were sent at once):")
SUMMARY_CRISIS_ITEM = _("{day} ({source}): “{words}”")
SUMMARY_CRISIS_FLAG = _(" ⚠ crisis words")
CRISIS_SOURCES = {"message": _("message"), "voice": _("voice note")}

# ---------------------------------------------------------------- general
HELP = _(
    "What I can do:\n"
    "/new – set up a small practice\n"
    "/done – tell me how it went\n"
    "/practices – see or change your practices\n"
    "/week – a look back; /session – your next session\n"
    "/thought – a thought record (voice notes welcome)\n"
    "/timezone – your timezone\n"
    "/pause – pause nudges; /resume – restart\n"
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
    "new": _("set up a small practice"),
    "done": _("tell me how a practice went"),
    "practices": _("see, change, pause or remove practices"),
    "timezone": _("change your timezone"),
    "language": _("the language of your voice notes"),
    "thought": _("write a thought record, by text or voice"),
    "sharing": _("see or stop sharing with your clinician"),
    "supporter": _("invite or remove someone who cheers you on"),
    "pause": _("pause all nudges, optionally until a date"),
    "resume": _("turn nudges back on"),
    "quiet": _("see or change quiet hours"),
    "checkin": _("see or change the evening check-in time"),
    "week": _("a look back at your week"),
    "session": _("when your next session is"),
    "cancel": _("stop what we're doing"),
    "mydata": _("a copy of everything I keep about you"),
    "forget": _("erase everything I keep about you"),
    "help": _("what I can do, and crisis resources"),
    "sos": _("crisis resources, now"),
}
CANCELLED = _("Okay, we've stopped there. Nothing was changed.")
NOTHING_TO_CANCEL = _("There's nothing to stop right now. /help shows what I can do.")
FALLBACK = _(
    "I'm here. To tell me how a practice went, send /done; to set one up, /new. "
    "/help lists everything."
)
NEED_TEXT = _("I can only read typed words here for now. Could you type your answer?")
EDIT_NOT_SEEN = _(
    "I only read new messages, so I didn't see that edit. "
    "If you meant to change your answer, could you send it again?"
)
PRIVATE_ONLY = _(
    "I only work in a private chat, so what people share with me stays private. "
    "Tap my name and send me /start there."
)
TOO_LONG = _(
    "That's a bit long for this answer (up to {limit} characters). "
    "Could you say it in a sentence or two?"
)
EMPTY_ANSWER = _("I didn't catch any words there. Could you type your answer?")
NUMBER_NEEDED = _("A number from {low} to {high} is all I need here.")
STALE_BUTTON = _("That button is from an earlier message. Here's where we are:")
STALE_BUTTON_SHORT = _("That button is from an earlier message.")
UNKNOWN_BUTTON = _("I don't recognise that button. /help shows what I can do.")
UNKNOWN_COMMAND = _("I don't know that command. /help lists the ones I have.")
RESUMING = _("We were in the middle of something. Here's where we are:")
SOMETHING_WENT_WRONG = _(
    "Something went wrong on my side. Nothing you told me before this was lost. "
    "Could you try that again in a moment?"
)
# The database or Telegram is briefly away: what they sent is kept and will be answered.
TRY_AGAIN_SOON = _(
    "Something went wrong on my side, sorry. I've kept what you sent and I'll try again "
    "in a moment. There's nothing you need to do."
)
# A report button pressed a second time on the same message (a double tap).
ALREADY_NOTED = _("Already noted, thank you.")

# ---------------------------------------------------------------- formatting
# Pieces bot.texts.formatting puts together (days and times in the client's language:
# t.describe_when, t.practice_card, t.nudge, t.thought_card).
DAYS_WEEKENDS = _("Weekends")
WHEN_EVERY_DAY = _("every day around {time}")
WHEN_WEEKDAYS = _("weekdays around {time}")
WHEN_WEEKENDS = _("weekends around {time}")
WHEN_ON_DAYS = _("on {days} around {time}")
CARD_LINE = _("{days} around {time}, {anchor}: {step}")
CARD_PLAN = _("Plan: {if_then}")
CARD_REWARD = _("Reward: {reward}")
NUDGE = _("{anchor}: {step}")
