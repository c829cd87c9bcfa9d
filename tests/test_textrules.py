"""Platform names, per-platform text limits and media URL checks."""

import pytest

from rabb_cli.errors import InvalidInput
from rabb_cli.textrules import (
    PLATFORMS,
    TargetSpec,
    check_text,
    parse_media,
    parse_target,
    parse_targets,
    text_length,
)

X = PLATFORMS["twitter"]
BLUESKY = PLATFORMS["bluesky"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("你好推特", 8),
        ("💪🏻", 2),
        ("の" * 140, 280),
        ("の" * 141, 282),
        ("a" * 257 + " https://example.com/a/very/long/path/that/counts/as/23", 281),
        ("hello", 5),
    ],
)
def test_x_weighted_length(text: str, expected: int) -> None:
    assert text_length(X, text) == expected


def test_x_accepts_280_weighted() -> None:
    check_text("の" * 140, "twitter")


def test_x_rejects_141_cjk() -> None:
    with pytest.raises(InvalidInput) as raised:
        check_text("の" * 141, "twitter")
    message = str(raised.value)
    assert "X" in message
    assert "282" in message
    assert "280" in message


def test_x_rejects_url_overflow() -> None:
    text = "a" * 257 + " https://example.com/x"
    with pytest.raises(InvalidInput, match="281 weighted characters"):
        check_text(text, "twitter")


def test_bluesky_counts_graphemes() -> None:
    family = "👨‍👩‍👧"
    assert text_length(BLUESKY, family * 300) == 300
    check_text(family * 300, "bluesky")
    with pytest.raises(InvalidInput, match="301 graphemes"):
        check_text(family * 301, "bluesky")


@pytest.mark.parametrize(
    ("platform", "limit"),
    [("threads", 500), ("linkedin", 3000), ("instagram", 2200), ("telegram", 4096)],
)
def test_character_limits(platform: str, limit: int) -> None:
    check_text("x" * limit, platform)
    with pytest.raises(InvalidInput, match=f"limit is {limit}"):
        check_text("x" * (limit + 1), platform)


def test_telegram_caption_limit_with_media() -> None:
    check_text("x" * 2000, "telegram")
    with pytest.raises(InvalidInput, match="with media where the limit is 1024"):
        check_text("x" * 2000, "telegram", has_media=True)


@pytest.mark.parametrize("text", ["", "   ", "\n\n"])
def test_empty_text_rejected(text: str) -> None:
    with pytest.raises(InvalidInput, match="empty"):
        check_text(text, "threads")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("twitter", TargetSpec("twitter")),
        ("X", TargetSpec("twitter")),
        ("twitter:@me", TargetSpec("twitter", "@me")),
        (" Bluesky ", TargetSpec("bluesky")),
    ],
)
def test_parse_target(value: str, expected: TargetSpec) -> None:
    assert parse_target(value) == expected


def test_unknown_platform_lists_names() -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_target("myspace")
    message = str(raised.value)
    assert "'myspace'" in message
    assert "bluesky" in message
    assert "twitter" in message


def test_parse_targets_splits_commas() -> None:
    specs = parse_targets(["twitter,bluesky", "twitter"])
    assert specs == [TargetSpec("twitter"), TargetSpec("bluesky")]


@pytest.mark.parametrize(
    ("url", "media_type"),
    [
        ("https://cdn.example.com/v/clip.mp4?sig=1", "video"),
        ("https://cdn.example.com/a.JPG", "image"),
        ("https://cdn.example.com/a.gif#frag", "gif"),
        ("http://example.com/deck.pdf?x=1&y=2", "document"),
        ("https://8.8.8.8/photo.png", "image"),
    ],
)
def test_media_type_from_extension(url: str, media_type: str) -> None:
    assert parse_media(url).type == media_type


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("", "empty media URL"),
        ("   ", "empty media URL"),
        ("http://localhost/a.jpg", "public host"),
        ("http://app.localhost/a.jpg", "public host"),
        ("http://127.0.0.1/a.jpg", "public host"),
        ("http://10.1.2.3/a.jpg", "public host"),
        ("http://192.168.1.5/a.jpg", "public host"),
        ("http://169.254.169.254/a.jpg", "public host"),
        ("http://[::1]/a.jpg", "public host"),
        ("http://printer/a.jpg", "public host"),
        ("ftp://example.com/a.jpg", "invalid media URL"),
        ("example.com/a.jpg", "invalid media URL"),
        ("https://example.com/file", "unknown media type"),
        ("https://example.com/a.exe?x=.jpg", "unknown media type"),
    ],
)
def test_media_rejected(url: str, fragment: str) -> None:
    with pytest.raises(InvalidInput, match=fragment):
        parse_media(url)
