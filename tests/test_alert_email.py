"""The alert email builders: pure functions from a failed post to subject and bodies."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from rabb_cli.publish.alert_email import (
    CATEGORY_ADVICE,
    FailedPost,
    FailedTarget,
    alert_email,
    digest_email,
    excerpt,
    explain,
    notify_test_email,
)
from rabb_cli.status import PostStatus

BERLIN = ZoneInfo("Europe/Berlin")
NOON = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def failed(
    text: str = "Launch day",
    reason: str | None = "twitter: refused",
    *targets: FailedTarget,
    status: PostStatus = PostStatus.FAILED,
    post_id: int = 12,
    scheduled_for: datetime | None = NOON,
    outcome_unknown: bool = False,
    late_unsettled: bool = False,
    key_expired: bool = False,
) -> FailedPost:
    return FailedPost(
        post_id=post_id,
        status=status,
        text=text,
        scheduled_for=scheduled_for,
        reason=reason,
        targets=targets or (FailedTarget("twitter", None, "failed", "refused"),),
        outcome_unknown=outcome_unknown,
        late_unsettled=late_unsettled,
        key_expired=key_expired,
    )


def test_subject_starts_with_text() -> None:
    email = alert_email(failed("Launch day! " + "x" * 60), UTC)
    assert email.subject == 'rabb: post 12 failed: "Launch day! ' + "x" * 28 + '…"'


def test_subject_one_line_and_printable() -> None:
    email = alert_email(failed("Line one\nline two\x1b[31m"), UTC)
    assert email.subject == 'rabb: post 12 failed: "Line one line two\\x1b[31m"'


def test_partial_subject_and_headline() -> None:
    targets = (
        FailedTarget("twitter", None, "published", url="https://x.example/1"),
        FailedTarget("bluesky", "@me.bsky", "failed", "Token expired"),
    )
    email = alert_email(
        failed("Half", "bluesky: Token expired", *targets, status=PostStatus.PARTIAL),
        UTC,
    )
    assert email.subject == 'rabb: post 12 failed on some platforms: "Half"'
    assert email.text.startswith("Post 12 was published on some platforms only.\n")
    assert (
        "Platforms: X: published https://x.example/1; Bluesky (@me.bsky): failed"
        in email.text
    )


def test_text_cut_at_100_characters() -> None:
    # Family emoji: one character on screen, seven code points.
    family = "👨\u200d👩\u200d👧\u200d👦"
    text = family * 150
    shown = excerpt(text)
    assert shown == family * 100 + "…"
    assert excerpt("short") == "short"
    email = alert_email(failed(text), UTC)
    assert f"Text:      {family * 100}…\n" in email.text
    assert family * 101 not in email.html


def test_html_escapes_user_content() -> None:
    text = '<script>alert("x")</script> & <img src=x onerror=y>'
    targets = (FailedTarget("twitter", None, "failed", "<b>bad</b>"),)
    email = alert_email(failed(text, "twitter: <b>bad</b>", *targets), UTC)
    assert "<script>" not in email.html
    assert "<img" not in email.html
    assert "<b>bad" not in email.html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp;" in email.html
    assert "twitter: &lt;b&gt;bad&lt;/b&gt;" in email.html
    assert text in email.text


def test_scheduled_time_in_zone() -> None:
    winter = datetime(2026, 1, 15, 8, 30, tzinfo=UTC)
    summer = alert_email(failed(), BERLIN).text
    cold = alert_email(failed(scheduled_for=winter), BERLIN).text
    assert "Scheduled: 2026-06-01 14:00 CEST (Europe/Berlin)" in summer
    assert "Scheduled: 2026-01-15 09:30 CET (Europe/Berlin)" in cold
    assert "Scheduled: 2026-06-01 12:00 UTC\n" in alert_email(failed(), UTC).text


def test_commands_in_both_parts() -> None:
    email = alert_email(failed(post_id=7), UTC)
    assert "See the details: rabb show 7\nSend it again:   rabb retry 7\n" in email.text
    assert "<code>rabb show 7</code>" in email.html
    assert "<code>rabb retry 7</code>" in email.html


@pytest.mark.parametrize("category", sorted(CATEGORY_ADVICE))
def test_every_category_explained(category: str) -> None:
    target = FailedTarget("bluesky", None, "failed", "whatever", category)
    [sentence] = explain(failed("t", "bluesky: whatever", target))
    assert sentence.startswith("Bluesky: ")
    assert sentence.endswith(".")
    assert "{" not in sentence


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            "Token expired",
            "Bluesky: the connection to the Bluesky account has expired. Reconnect"
            " the Bluesky account in Late, then retry the post.",
        ),
        (
            "Invalid OAuth token",
            "Bluesky: the connection to the Bluesky account has expired. Reconnect"
            " the Bluesky account in Late, then retry the post.",
        ),
        (
            "Rate limit exceeded",
            "Bluesky: Bluesky's rate limit was reached. Retry the post later.",
        ),
        (
            "Status is a duplicate.",
            "Bluesky: Bluesky refused the post as a duplicate of an earlier one."
            " Change the text with 'rabb edit 12', then retry the post.",
        ),
    ],
)
def test_category_read_from_message(message: str, expected: str) -> None:
    target = FailedTarget("bluesky", None, "failed", message)
    assert explain(failed("t", f"bluesky: {message}", target))[0] == expected


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        (
            "Late rejected the post: HTTP 403 Forbidden: Account disconnected"
            " (ACCOUNT_DISCONNECTED)",
            "The X account is disconnected from Late. Reconnect the X account in"
            " Late, then retry the post.",
        ),
        (
            "Late rejected the post: HTTP 403 Forbidden: no (PROFILE_OVER_LIMIT)",
            "The Late profile of the account is over its plan's limit. Upgrade the"
            " Late plan or remove a profile, then retry the post.",
        ),
        (
            "Late rejected the post: HTTP 400 Bad Request: Content too long",
            "Late rejected the post as invalid. Check the text and the media, change"
            " them with 'rabb edit 12', then retry the post.",
        ),
        (
            "not published: it was due 1d 1h ago, more than max_lateness (1d); the"
            " computer was probably asleep or off",
            "The post was not sent because it was due long before rabb ran (the"
            " computer was probably asleep or off). Retry it now, or at a new time"
            " with 'rabb retry 12 --at WHEN'.",
        ),
        (
            "cannot publish to -p twitter:@nobody: no X account '@nobody'",
            "An account named with -p is not connected in Late. Connect it in Late,"
            " or change the platforms with 'rabb edit 12 -p ...'.",
        ),
        (
            "gave up after 4 attempts: HTTP 503 Service Unavailable",
            "Late could not be reached, or kept failing, on every attempt. Retrying"
            " the post later usually works.",
        ),
    ],
)
def test_reason_in_plain_words(reason: str, expected: str) -> None:
    target = FailedTarget("twitter", None, "failed")
    assert explain(failed("t", reason, target)) == [expected]


def test_unknown_reason_shown_as_details() -> None:
    target = FailedTarget("twitter", None, "failed", "Something odd")
    post = failed("t", "twitter: Something odd", target)
    assert explain(post) == [
        "Late gave no reason that rabb knows; see the details below."
    ]
    assert "Details: twitter: Something odd" in alert_email(post, UTC).text


def test_unknown_outcome_warned() -> None:
    post = failed("t", "gave up after 4 attempts: timeout", outcome_unknown=True)
    sentences = explain(post)
    assert sentences[-1].startswith(
        "An attempt got no answer, so Late may have published the post."
    )


def test_late_unsettled_advice() -> None:
    reason = "Late never finished publishing post late-3: rabb stopped checking"
    post = failed("t", reason, outcome_unknown=True, late_unsettled=True)
    sentences = explain(post)
    assert sentences[-1] == (
        "Late may still publish the post: a request to Late got no answer, or Late"
        " had not finished publishing it when rabb stopped checking. Check the post"
        " in Late. 'rabb retry' asks Late to retry its own post, which Late rejects"
        " while that post is publishing or once it is no longer failed, so nothing"
        " is published twice."
    )


def test_expired_key_advice() -> None:
    reason = "not sent again: an attempt with idempotency key k got no answer"
    post = failed("t", reason, outcome_unknown=True, key_expired=True)
    sentences = explain(post)
    assert sentences[-1].endswith(
        "Check the post in Late. If it is not there, send it again with 'rabb retry"
        " 12 --confirm-unpublished'."
    )
    assert not any("for 24 hours after the attempt" in s for s in sentences)


def test_not_sent_target_advice() -> None:
    target = FailedTarget(
        "linkedin",
        None,
        "failed",
        "not sent: Late rejected the whole request as a duplicate of its post old",
        error_category="not_sent",
    )
    post = failed("t", "Late already has the same content as post old", target)
    assert explain(post) == [
        "LinkedIn: LinkedIn was not sent, because Late rejected the whole post when"
        " another platform already had the same text. Retry the post to send it."
    ]


def test_deleted_post_advice() -> None:
    reason = "Late has no post late-4 any more (HTTP 404); it may have been deleted"
    post = failed("t", reason + " in Late")
    assert explain(post)[-1] == (
        "The post was deleted in Late while it was being published. Retry it to"
        " publish it again."
    )


def test_digest_lists_every_post() -> None:
    posts = [failed(f"Post number {n}", post_id=n) for n in (3, 4, 5)]
    email = digest_email(posts, UTC)
    assert email.subject == "rabb: 3 posts failed (3, 4 and 5)"
    for n in (3, 4, 5):
        assert f"Post {n} failed: it was not published." in email.text
        assert f"Post number {n}" in email.html
        assert f"rabb retry {n}\n" in email.text
    assert "Retry them all: rabb retry 3 4 5" in email.text
    assert email.html.count("<hr>") == 3


def test_test_email_names_address() -> None:
    email = notify_test_email("me@example.com")
    assert email.subject == "rabb: test alert"
    assert "me@example.com" in email.text
    assert "me@example.com" in email.html
