"""Every sentence the bot says in Slack, in one place, so it can be translated.

Keys are stable; `say(key, **values)` formats one. A German catalog is planned: it will be a
second dict with the same keys, chosen by configuration.
"""

from __future__ import annotations

from collections.abc import Mapping

EN: Mapping[str, str] = {
    # the card
    "card.private": ":lock: Private mention: replies go only to {handle}",
    "card.open_on": "Open on {network}",
    "card.from": "{name} ({handle}) on {network}",
    "card.notification": "New {network} mention from {name}: {text}",
    "status.due": ":stopwatch: answer due {due} ({left})",
    "status.overdue": ":rotating_light: answer overdue since {due} ({left})",
    "status.open": ":large_blue_circle: Open, waiting since {since}",
    "status.reopened": (
        ":arrows_counterclockwise: Reopened by a new message, waiting since {since}"
    ),
    "status.claimed": ":eyes: Claimed by <@{user}>, waiting since {since}",
    "status.answered": ":speech_balloon: Answered (first response after {first_response})",
    "status.answered_claimed": (
        ":speech_balloon: Answered by the team (first response after {first_response}),"
        " claimed by <@{user}>"
    ),
    "status.closed": ":white_check_mark: Closed by <@{user}> after {duration}",
    "erased.author": "Someone on {network} (name erased)",
    "erased.text": ":wastebasket: _The text of this post was erased._",
    "erased.notification": "A {network} post (text erased)",
    "button.claim": "Claim",
    "button.unclaim": "Unclaim",
    "button.close": "Close",
    "button.reopen": "Reopen",
    # thread notices
    "reply.too_long": (
        ":no_entry: Not sent: {network} allows {limit} characters and this reply has {count}."
        " Shorten it and send it again."
    ),
    "reply.far_too_long": (
        ":no_entry: Not sent: {network} allows {limit:,} characters and this reply has more"
        " than {count:,}. Shorten it and send it again."
    ),
    "reply.failed": ":warning: Not sent to {network}: {reason}",
    # the response clock (bot/sla/timers.py); {who} is empty or mentions with a trailing space
    "sla.reminder": ":hourglass_flowing_sand: {who}An answer is due {due}.",
    "sla.breach": ":rotating_light: {who}This conversation is overdue: the answer was due {due}.",
    "reply.edit_too_late": (
        ":information_source: That reply had already been sent; the edit changes nothing on"
        " {network}."
    ),
    "reply.delete_too_late": (
        ":information_source: That reply had already been sent; deleting it here does not"
        " delete it on {network}."
    ),
    "reply.not_allowed": (
        ":no_entry: Not sent: only members of this channel{allow_list} can reply publicly."
    ),
    "reply.guest_not_allowed": (
        ":no_entry: Not sent: guests and people from other workspaces cannot reply publicly here."
    ),
    "reply.not_verified": (
        ":warning: Not sent: Slack did not say who may reply ({reason}). Send it again in a minute."
    ),
    "reply.empty": ":no_entry: Not sent: the reply is empty once formatting is removed.",
    # durations
    "duration.seconds": "{n} s",
    "duration.minutes": "{n} min",
    "duration.hours": "{h} h {m} min",
    "duration.days": "{d} d {h} h",
    # /social
    "command.help": (
        "*{command}* shows how the team is doing:\n"
        "• `{command} stats [today|24h|7d|30d|all] [account or network] [public]`: counts and"
        " response times (default 7d; `public` posts the answer in the channel)\n"
        "• `{command} open`: every open conversation, soonest due first, then oldest first\n"
        "• `{command} mine`: the open conversations you have claimed\n"
        "• `{command} sources`: each account's last poll, last error and queued jobs\n"
        "• `{command} overdue`: conversations past their answer's due time, most overdue"
        " first\n"
        "• `{command} help`: this list"
    ),
    "command.unknown": ":thinking_face: I don't know `{text}`.",
    "command.no_options": (
        ":thinking_face: `{command} {subcommand}` takes no options; got `{text}`."
    ),
    "command.two_periods": (
        ":thinking_face: One period at a time, please: got `{first}` and `{second}`."
    ),
    "command.two_scopes": (
        ":thinking_face: One account or network at a time, please: got `{first}` and `{second}`."
    ),
    "command.unknown_scope": (
        ":thinking_face: No account or network is called `{scope}`."
        " Accounts: {accounts}. Networks: {networks}."
    ),
    "command.not_a_member": (
        ":no_entry: `{command}` answers only its channels' members, and you are not a member"
        " of any channel this bot serves."
    ),
    "command.failed": (
        ":warning: Sorry, `{command}` failed ({reason}). The details are in the bot's log."
    ),
    "stats.title": "Social stats, {period}",
    "stats.title_scoped": "Social stats for {scope}, {period}",
    "stats.period.today": "today (since 00:00 UTC)",
    "stats.period.24h": "last 24 hours",
    "stats.period.7d": "last 7 days",
    "stats.period.30d": "last 30 days",
    "stats.period.all": "all time",
    "stats.opened": "*Conversations opened*\n{n}",
    "stats.inbound": "*Messages received*\n{n}",
    "stats.replies": "*Replies sent*\n{n}",
    "stats.answered": "*Answered*\n{share} ({answered} of {opened})",
    "stats.first_response": "*First response*\nmedian {median}, 90th percentile {p90}",
    "stats.close": "*Time to close*\nmedian {median} ({closed} closed)",
    "stats.open_now": "*Open now*\n{open} ({unclaimed} unclaimed)",
    "stats.oldest_unanswered": "*Oldest unanswered*\nwaiting {age}",
    "stats.nothing": "none",
    "stats.within_target": "*Answered within target*\nfirst response {first}, next {next}",
    "stats.attained": "{share} ({within} of {decided})",
    "stats.breaches": "*Overdue answers*\n{n}",
    "stats.by_person_target": "*Within target, by person who answered*",
    "stats.person_target_line": "• {person}: {attained}",
    "stats.by_account": "*By account*",
    "stats.account_line": "• {account}: opened {opened}, replies {replies}",
    "stats.by_person": "*By person*",
    "stats.person_line": "• {person}: replies {replies}, claims {claims}, closes {closes}",
    "stats.nobody": "Nobody replied, claimed or closed a conversation in this period.",
    "stats.footnote": (
        "Answered share and times cover the conversations opened in the period; medians and"
        " 90th percentiles are nearest-rank. As of {now}."
    ),
    "stats.fallback": (
        "Social stats, {period}: {opened} conversations opened, {replies} replies sent,"
        " {answered} answered."
    ),
    "list.title_open": "Open conversations: {total}",
    "list.title_mine": "Your open conversations: {total}",
    "list.empty_open": ":tada: Nothing is open.",
    "list.empty_mine": ":tada: You have no open conversations.",
    "list.line": "• {link} on {network}, opened {age} ago, {who}",
    "list.unclaimed": "unclaimed",
    "list.claimed_by": "claimed by {user}",
    "list.answered": " (answered)",
    "list.more": "…and {n} more",
    "list.title_overdue": "Overdue conversations: {total}",
    "list.empty_overdue": ":tada: Nothing is overdue.",
    "list.overdue_by": ", overdue by {duration}",
    "list.due_in": ", answer due in {duration}",
    "list.no_clock": "No response clock is set up: add an `[sla]` table to the configuration.",
    "sources.title": "Sources",
    "sources.line": (
        "{icon} *{account}* ({network}): last successful poll {last_ok}, queued jobs {queued}"
    ),
    "sources.watched": "{count} threads watched for follow-ups without a mention",
    "sources.failing": "{failures} failed polls in a row; last error: {error}",
    "sources.ago": "{duration} ago",
    "sources.never": "never",
    "sources.queue": "Queued jobs in all: {total} ({by_kind})",
    "sources.queue_empty": "No jobs are queued.",
    "sources.none": "No accounts are configured.",
    # X (bot/sources/x/source.py)
    "x.reply_not_summoned": (
        "X only lets this account reply to people who mentioned or quoted it in the post"
        " being answered, and @{handle}'s post did neither, so X refused the reply."
        " Answer on x.com instead."
    ),
    "x.reply_duplicate": (
        "X refused the reply because this account already posted exactly the same text."
        " Change the wording and send it again."
    ),
}

_CATALOGS: Mapping[str, Mapping[str, str]] = {"en": EN}


def say(key: str, /, *, lang: str = "en", **values: object) -> str:
    """The sentence for `key` with `values` filled in; values must already be escaped."""
    return _CATALOGS[lang][key].format(**values)


def duration(seconds: float, *, lang: str = "en") -> str:
    """A short human duration: "45 s", "12 min", "3 h 5 min", "2 d 4 h"."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return say("duration.seconds", lang=lang, n=seconds)
    minutes = seconds // 60
    if minutes < 60:
        return say("duration.minutes", lang=lang, n=minutes)
    hours = minutes // 60
    if hours < 24:
        return say("duration.hours", lang=lang, h=hours, m=minutes % 60)
    return say("duration.days", lang=lang, d=hours // 24, h=hours % 24)
