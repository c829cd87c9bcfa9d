"""The failure alert emails: subject, plain text and HTML, built by pure functions.

Nothing here reads the store or the clock, so every email can be checked from its
inputs alone. Post text is user content: each part shows at most its first
`EXCERPT_LENGTH` characters, with control characters made visible, and the HTML part
escapes everything that comes from the post, from Late or from the settings.
"""

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo

import wcwidth

from rabb_cli.output import printable
from rabb_cli.status import PostStatus, TargetStatus
from rabb_cli.textrules import PLATFORMS
from rabb_cli.timeparse import format_local

# Characters of post text in an email, counted as a reader sees them (graphemes).
EXCERPT_LENGTH = 100
SUBJECT_EXCERPT_LENGTH = 40
# Late's messages are clipped to this many characters in an email.
DETAIL_LENGTH = 300

# Advice for each errorCategory of Late: the meaning for the user, and the fix.
# `{label}` is the platform's name, such as Bluesky.
CATEGORY_ADVICE = {
    "auth_expired": "the connection to the {label} account has expired. Reconnect"
    " the {label} account in Late, then retry the post",
    "account_issue": "{label} reports a problem with the account. Check the {label}"
    " account in Late and on {label}, then retry the post",
    "user_content": "{label} rejected the text or the media. Change them with"
    " 'rabb edit {post_id}', then retry the post",
    "user_abuse": "{label} refused the post under its spam or abuse rules, and Late"
    " pauses posting to that account for a while. Wait, change the text if needed,"
    " then retry the post",
    "platform_rejected": "{label} rejected the post. Check {label}'s rules for text"
    " and media, then retry the post",
    "platform_error": "{label} had an error. Retrying the post later usually works",
    "platform_rate_limit": "{label}'s rate limit was reached. Retry the post later",
    "quota_exhausted": "the posting quota of the {label} account is used up (a daily"
    " limit, or the Late plan's). Retry the post tomorrow, or raise the quota in Late",
    "system_error": "Late had an internal error while publishing to {label}."
    " Retrying the post later usually works",
    "duplicate": "{label} refused the post as a duplicate of an earlier one. Change"
    " the text with 'rabb edit {post_id}', then retry the post",
    # rabb's own category: Late rejected the whole request because another target
    # duplicated an earlier Late post, so this one was never sent.
    "not_sent": "{label} was not sent, because Late rejected the whole post when"
    " another platform already had the same text. Retry the post to send it",
}
# Categories read from the wording of a platform's message when Late sent none.
# NOTE: these patterns are a guess at common platform messages, not a list that Late
# documents. A message they miss is shown as Late sent it.
_MESSAGE_CATEGORIES = (
    (
        re.compile(
            r"expired|reconnect|re-?auth|(invalid|revoked) (access |oauth )?token"
            r"|token (is )?(invalid|revoked)|unauthori[sz]ed|not authori[sz]ed",
            re.IGNORECASE,
        ),
        "auth_expired",
    ),
    (
        re.compile(r"rate.?limit|too many requests", re.IGNORECASE),
        "platform_rate_limit",
    ),
    (re.compile(r"quota|daily (cap|limit)", re.IGNORECASE), "quota_exhausted"),
    (re.compile(r"duplicate|already (been )?posted", re.IGNORECASE), "duplicate"),
)
# Advice for the reasons rabb records for the whole post, by a pattern of the reason.
# `{labels}` names the platforms that failed, `{post_id}` the post.
REASON_ADVICE = (
    # First: these reasons quote the error of the last attempt, which other
    # patterns below could match.
    (
        "Late asked rabb to wait until",
        "Late asked rabb to wait before sending again (a rate limit, or a"
        " publishing cap of the account), and the wait ends after max_lateness has"
        " passed. Retry the post once the time in the details below has passed,"
        " with 'rabb retry {post_id} --at WHEN'",
    ),
    (
        "not published in time",
        "an attempt failed with the error in the details below, and no later"
        " attempt came before max_lateness passed. Retry the post now, or at a new"
        " time with 'rabb retry {post_id} --at WHEN'",
    ),
    (
        "name the same account",
        "two of the post's platforms name the same account, and a post goes to"
        " each account once. Remove one with 'rabb edit {post_id} -p ...', then"
        " retry the post",
    ),
    (
        "ACCOUNT_DISCONNECTED",
        "the {labels} account is disconnected from Late. Reconnect the {labels}"
        " account in Late, then retry the post",
    ),
    (
        "ACCOUNT_NOT_ENABLED_FOR_POSTING",
        "the {labels} account is not enabled for posting in Late (an ads-only"
        " account, for example). Enable posting for it in Late, or choose another"
        " account with 'rabb edit {post_id} -p ...'",
    ),
    (
        "PROFILE_OVER_LIMIT",
        "the Late profile of the account is over its plan's limit. Upgrade the Late"
        " plan or remove a profile, then retry the post",
    ),
    (
        "HTTP 402",
        "Late requires a payment on your account. Settle the billing in Late, then"
        " retry the post",
    ),
    (
        "HTTP 403",
        "Late refused to publish to the {labels} account: it may belong to another"
        " profile or be outside the API key's scope. Check it with 'rabb accounts'",
    ),
    # Before "HTTP 404", which the reason of a check that finds the post gone
    # also contains.
    (
        "deleted in Late",
        "the post was deleted in Late while it was being published. Retry it to"
        " publish it again",
    ),
    (
        "HTTP 404",
        "Late does not know an account of the post. Run 'rabb accounts' to refresh the"
        " list, and fix the platforms with 'rabb edit {post_id} -p ...'",
    ),
    (
        "HTTP 400",
        "Late rejected the post as invalid. Check the text and the media, change them"
        " with 'rabb edit {post_id}', then retry the post",
    ),
    (
        "HTTP 422",
        "Late rejected the post as invalid. Check the text and the media, change them"
        " with 'rabb edit {post_id}', then retry the post",
    ),
    (
        "not published: it was due",
        "the post was not sent because it was due long before rabb ran (the computer"
        " was probably asleep or off). Retry it now, or at a new time with"
        " 'rabb retry {post_id} --at WHEN'",
    ),
    (
        "cannot publish to -p",
        "an account named with -p is not connected in Late. Connect it in Late, or"
        " change the platforms with 'rabb edit {post_id} -p ...'",
    ),
    (
        "cannot resolve -p",
        "the accounts could not be fetched from Late. Retry the post later",
    ),
    (
        "Late cancelled the post",
        "the post was cancelled in Late. Retry it to publish it again",
    ),
    (
        "as a draft",
        "Late kept the post as a draft. Retry it to publish it",
    ),
    (
        "gave up after",
        "Late could not be reached, or kept failing, on every attempt. Retrying the"
        " post later usually works",
    ),
)
FOOTER = (
    "rabb sends this email because alerts.email is set in its config. Turn alerts"
    " off with 'rabb notify --no-on-failure'."
)
UNKNOWN_OUTCOME_ADVICE = (
    "an attempt got no answer, so Late may have published the post. 'rabb retry'"
    " sends that attempt's idempotency key again, and Late (for 24 hours after the"
    " attempt) returns the post it has instead of publishing it twice"
)
EXPIRED_KEY_ADVICE = (
    "an attempt got no answer more than 23 hours ago, so Late may have published"
    " the post and no longer recognizes that attempt's idempotency key. Check the"
    " post in Late. If it is not there, send it again with 'rabb retry {post_id}"
    " --confirm-unpublished'"
)
LATE_UNSETTLED_ADVICE = (
    "Late may still publish the post: a request to Late got no answer, or Late had"
    " not finished publishing it when rabb stopped checking. Check the post in"
    " Late. 'rabb retry' asks Late to retry its own post, which Late rejects while"
    " that post is publishing or once it is no longer failed, so nothing is"
    " published twice"
)


@dataclass(frozen=True)
class FailedTarget:
    """One platform of a failed post, with its outcome."""

    platform: str
    account: str | None
    status: str
    error: str | None = None
    error_category: str | None = None
    url: str | None = None

    @property
    def platform_name(self) -> str:
        """Return the platform's display name, such as X for twitter."""
        platform = PLATFORMS.get(self.platform)
        return platform.label if platform else self.platform

    @property
    def label(self) -> str:
        """Return the platform's name with the account, if the post names one."""
        name = self.platform_name
        return f"{name} ({self.account})" if self.account else name


@dataclass(frozen=True)
class FailedPost:
    """The facts an alert reports about a post that ended FAILED or PARTIAL."""

    post_id: int
    status: PostStatus
    text: str
    scheduled_for: datetime | None
    reason: str | None
    targets: tuple[FailedTarget, ...]
    # True when an attempt got no response, so Late may have published the post.
    outcome_unknown: bool = False
    # True when that is because Late may still publish its own post.
    late_unsettled: bool = False
    # True when the unanswered attempt is too old for Late to recognize its key.
    key_expired: bool = False


@dataclass(frozen=True)
class EmailMessage:
    """The parts of an email that differ from one alert to the next."""

    subject: str
    text: str
    html: str


def alert_email(post: FailedPost, zone: tzinfo) -> EmailMessage:
    """Build the alert for one failed post."""
    state = "failed" if post.status is PostStatus.FAILED else "failed on some platforms"
    start = excerpt(post.text, SUBJECT_EXCERPT_LENGTH)
    subject = f'rabb: post {post.post_id} {state}: "{start}"'
    steps = _post_steps(post)
    text = "\n\n".join([_text_block(post, zone), _text_steps(steps), FOOTER]) + "\n"
    body = _html_block(post, zone) + _html_steps(steps)
    return EmailMessage(subject, text, _html_page(body))


def digest_email(posts: Sequence[FailedPost], zone: tzinfo) -> EmailMessage:
    """Build one alert for several posts that failed in the same run."""
    ids = [str(post.post_id) for post in posts]
    subject = f"rabb: {len(posts)} posts failed ({_join(ids)})"
    intro = (
        f"{len(posts)} posts failed in the same run of 'rabb run-due'. Each one is"
        " listed below with what went wrong."
    )
    steps = [("Retry them all", f"rabb retry {' '.join(ids)}")]
    blocks = [
        _text_block(post, zone) + "\n\n" + _text_steps(_post_steps(post))
        for post in posts
    ]
    rule = "\n\n" + "-" * 40 + "\n\n"
    text = "\n\n".join([intro, rule.join(blocks), _text_steps(steps), FOOTER]) + "\n"
    html_blocks = "<hr>".join(
        _html_block(post, zone) + _html_steps(_post_steps(post)) for post in posts
    )
    body = f"<p>{_escape(intro)}</p>{html_blocks}<hr>{_html_steps(steps)}"
    return EmailMessage(subject, text, _html_page(body))


def notify_test_email(recipient: str) -> EmailMessage:
    """Build the message that `rabb notify test` sends."""
    text = (
        f"This is a test from rabb. Failure alerts go to {recipient}: when a post"
        " fails to publish, an email like this one says what went wrong and how to"
        " send the post again."
    )
    return EmailMessage("rabb: test alert", text + "\n", _html_page(_paragraph(text)))


def explain(post: FailedPost) -> list[str]:
    """Return what went wrong with the post and what to do, in plain sentences."""
    failed = [t for t in post.targets if t.status == TargetStatus.FAILED.value]
    advice = [_target_advice(post, target) for target in failed]
    sentences = [sentence for sentence in advice if sentence]
    reason = post.reason or ""
    labels = _join([target.platform_name for target in failed or post.targets])
    for pattern, template in REASON_ADVICE:
        if pattern in reason:
            sentences.append(
                _sentence(template.format(labels=labels, post_id=post.post_id))
            )
            break
    if post.late_unsettled:
        sentences.append(_sentence(LATE_UNSETTLED_ADVICE))
    elif post.outcome_unknown and post.key_expired:
        sentences.append(_sentence(EXPIRED_KEY_ADVICE.format(post_id=post.post_id)))
    elif post.outcome_unknown:
        sentences.append(_sentence(UNKNOWN_OUTCOME_ADVICE))
    if not sentences:
        sentences.append("Late gave no reason that rabb knows; see the details below.")
    return sentences


def excerpt(text: str, length: int = EXCERPT_LENGTH) -> str:
    """Return the first `length` characters of `text` on one line, `…` if cut."""
    clean = printable(text, one_line=True)
    graphemes = list(wcwidth.iter_graphemes(clean))
    if len(graphemes) <= length:
        return clean
    return "".join(graphemes[:length]).rstrip() + "…"


def _target_advice(post: FailedPost, target: FailedTarget) -> str | None:
    category = target.error_category or _category_of(target.error or "")
    template = CATEGORY_ADVICE.get(category or "")
    if template is None:
        return None
    advice = template.format(label=target.platform_name, post_id=post.post_id)
    return _sentence(f"{target.label}: {advice}")


def _category_of(message: str) -> str | None:
    for pattern, category in _MESSAGE_CATEGORIES:
        if pattern.search(message):
            return category
    return None


def _fields(post: FailedPost, zone: tzinfo) -> list[tuple[str, str]]:
    return [
        ("Text", excerpt(post.text)),
        ("Platforms", _platforms(post.targets)),
        ("Scheduled", _when(post.scheduled_for, zone)),
    ]


def _platforms(targets: Sequence[FailedTarget]) -> str:
    parts = []
    for target in targets:
        part = f"{target.label}: {target.status}"
        if target.url:
            part += f" {printable(target.url, one_line=True)}"
        parts.append(part)
    return "; ".join(parts)


def _when(instant: datetime | None, zone: tzinfo) -> str:
    if instant is None:
        return "not scheduled"
    name = getattr(zone, "key", None)
    local = format_local(instant, zone)
    return f"{local} ({name})" if name else local


def _headline(post: FailedPost) -> str:
    if post.status is PostStatus.PARTIAL:
        return f"Post {post.post_id} was published on some platforms only."
    return f"Post {post.post_id} failed: it was not published."


def _details(post: FailedPost) -> str | None:
    if not post.reason:
        return None
    clean = printable(post.reason, one_line=True)
    if len(clean) > DETAIL_LENGTH:
        clean = clean[: DETAIL_LENGTH - 1] + "…"
    return clean


def _post_steps(post: FailedPost) -> list[tuple[str, str]]:
    return [
        ("See the details", f"rabb show {post.post_id}"),
        ("Send it again", f"rabb retry {post.post_id}"),
    ]


def _text_block(post: FailedPost, zone: tzinfo) -> str:
    lines = [_headline(post), ""]
    lines += [f"{label + ':':<11}{value}" for label, value in _fields(post, zone)]
    lines += ["", "What went wrong:"]
    lines += [f"- {sentence}" for sentence in explain(post)]
    details = _details(post)
    if details:
        lines += ["", f"Details: {details}"]
    return "\n".join(lines)


def _text_steps(steps: Sequence[tuple[str, str]]) -> str:
    width = max(len(label) for label, _ in steps) + 2
    return "\n".join(f"{label + ':':<{width}}{command}" for label, command in steps)


def _html_block(post: FailedPost, zone: tzinfo) -> str:
    rows = "".join(
        f'<tr><th align="left" valign="top">{_escape(label)}</th>'
        f"<td>{_escape(value)}</td></tr>"
        for label, value in _fields(post, zone)
    )
    items = "".join(f"<li>{_escape(sentence)}</li>" for sentence in explain(post))
    parts = [
        f"<p><strong>{_escape(_headline(post))}</strong></p>",
        f'<table cellpadding="4">{rows}</table>',
        "<p><strong>What went wrong</strong></p>",
        f"<ul>{items}</ul>",
    ]
    details = _details(post)
    if details:
        parts.append(f"<p>Details: <code>{_escape(details)}</code></p>")
    return "".join(parts)


def _html_steps(steps: Sequence[tuple[str, str]]) -> str:
    lines = "".join(
        f"<li>{_escape(label)}: <code>{_escape(command)}</code></li>"
        for label, command in steps
    )
    return f"<ul>{lines}</ul>"


def _html_page(body: str) -> str:
    footer = f'<p style="color:#666666">{_escape(FOOTER)}</p>'
    return (
        '<!DOCTYPE html><html><body style="font-family:sans-serif">'
        f"{body}{footer}</body></html>"
    )


def _paragraph(text: str) -> str:
    return f"<p>{_escape(text)}</p>"


def _escape(text: str) -> str:
    return html.escape(text, quote=True)


def _sentence(text: str) -> str:
    text = text[0].upper() + text[1:]
    return text if text.endswith(".") else text + "."


def _join(names: Sequence[str]) -> str:
    unique = list(dict.fromkeys(names))
    if len(unique) <= 1:
        return "".join(unique)
    return ", ".join(unique[:-1]) + " and " + unique[-1]
