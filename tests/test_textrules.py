"""Platform names, per-platform text limits and media URL checks."""

import pytest

from rabb_cli.errors import InvalidInput
from rabb_cli.textrules import (
    MAX_TEXT_LENGTH,
    PLATFORMS,
    MediaItem,
    TargetSpec,
    check_media,
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
        ("https://example.com:99999/a.jpg", "invalid port"),
        ("https://example.com:0/a.jpg", "invalid port"),
        ("https://example.com:http/a.jpg", "invalid port"),
        ("https://example.com/a b.jpg", "contains white space"),
        ("https://example.com/a\tb.jpg", "contains white space"),
        ("https://example.com/a\u00a0b.jpg", "contains white space"),
        ("https://e.com/a\x1b[31m.jpg", "control character U\\+001B"),
        ("https://e.com/a\u202e.jpg", "format character U\\+202E"),
        ("https://user:pass@example.com/a.jpg", "contains a user name or password"),
        ("https://token@example.com/a.jpg", "contains a user name or password"),
    ],
)
def test_media_rejected(url: str, fragment: str) -> None:
    with pytest.raises(InvalidInput, match=fragment):
        parse_media(url)


def test_media_port_in_range_accepted() -> None:
    assert parse_media("https://example.com:8443/a.jpg").type == "image"


def test_media_credentials_not_shown() -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_media("https://me:s3cret@example.com/a.jpg")
    message = str(raised.value)
    assert "s3cret" not in message
    assert "'https://***@example.com/a.jpg'" in message


def test_media_control_character_escaped() -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_media("https://e.com/a\x1b[31m.jpg")
    assert "\x1b" not in str(raised.value)
    assert "'https://e.com/a\\x1b[31m.jpg'" in str(raised.value)


@pytest.mark.parametrize("platform", ["twitter", "bluesky", "facebook"])
def test_oversized_text_rejected_before_counting(platform: str) -> None:
    text = "a" * (MAX_TEXT_LENGTH + 1)
    with pytest.raises(InvalidInput) as raised:
        check_text(text, platform)
    assert str(raised.value) == (
        "text too long: 63,207 characters, where no platform accepts more than"
        " 63,206. Shorten it, or check that the right file was piped in."
    )


def test_largest_limit_still_accepted() -> None:
    assert MAX_TEXT_LENGTH == 63206
    check_text("a" * MAX_TEXT_LENGTH, "facebook")
    with pytest.raises(InvalidInput, match="text too long for X"):
        check_text("a" * MAX_TEXT_LENGTH, "twitter")


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("twitter:@", "missing account after ':' in 'twitter:@'"),
        ("twitter:", "missing account after ':' in 'twitter:'"),
        ("twitter: @ ", "missing account after ':'"),
        ("twitter:@a b", "invalid account '@a b'"),
        ("twitter:@a\u2003b", "invalid account"),
        ("twitter:@a\x1b[31m", "invalid account '@a\\\\x1b\\[31m'"),
        ("twitter:@a\u202eb", "invalid account"),
    ],
)
def test_parse_target_rejects_handle(value: str, fragment: str) -> None:
    with pytest.raises(InvalidInput, match=fragment):
        parse_target(value)


IMAGE = MediaItem("https://cdn.example.com/a.jpg", "image")
VIDEO = MediaItem("https://cdn.example.com/a.mp4", "video")
PDF = MediaItem("https://cdn.example.com/a.pdf", "document")


@pytest.mark.parametrize(
    ("platform", "media", "fragment"),
    [
        ("instagram", [], "Instagram needs media, at least an image, a GIF or a video"),
        ("instagram", [PDF], "Instagram needs media"),
        ("youtube", [IMAGE], "YouTube needs media, at least a video"),
        ("tiktok", [], "TikTok needs media, at least an image or a video"),
        ("twitter", [IMAGE] * 5, "too many media for X: 5 where the limit is 4"),
        ("bluesky", [IMAGE, VIDEO], "Bluesky takes a video only as the single"),
    ],
)
def test_media_rules_rejected(
    platform: str, media: list[MediaItem], fragment: str
) -> None:
    with pytest.raises(InvalidInput, match=fragment):
        check_media(platform, media)


@pytest.mark.parametrize(
    ("platform", "media"),
    [
        ("instagram", [IMAGE]),
        ("youtube", [VIDEO]),
        ("twitter", [IMAGE] * 4),
        ("twitter", [VIDEO]),
        ("threads", []),
        ("linkedin", [PDF]),
    ],
)
def test_media_rules_accepted(platform: str, media: list[MediaItem]) -> None:
    check_media(platform, media)


def test_media_rule_names_wrong_kind() -> None:
    gif = MediaItem("https://cdn.example.com/a.gif", "gif")
    with pytest.raises(InvalidInput) as raised:
        check_media("tiktok", [gif])
    assert "at least an image or a video, and a GIF does not count" in str(raised.value)
