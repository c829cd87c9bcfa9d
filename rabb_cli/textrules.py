"""Platform names, text limits with each platform's own counting rule, and media checks.

Limits follow the Late API's documentation and the platforms' published rules. Each
platform counts text its own way: X weighs characters and counts every URL as 23,
Bluesky counts graphemes (what a reader sees as one character), and the rest count
Unicode code points.
"""

import ipaddress
import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from pathlib import PurePosixPath
from urllib.parse import SplitResult, urlsplit, urlunsplit

from rabb_cli.errors import InvalidInput


class Counting(StrEnum):
    """The unit in which a platform counts the length of a post."""

    WEIGHTED = "weighted characters"
    GRAPHEMES = "graphemes"
    CHARACTERS = "characters"


@dataclass(frozen=True)
class Platform:
    """A platform Late publishes to: its API name, display name and text limit."""

    name: str
    label: str
    limit: int
    counting: Counting = Counting.CHARACTERS
    media_limit: int | None = None
    # Media rules: the types a post needs at least one of, the most items it takes,
    # and whether a video or GIF must be the only item.
    needs_media: tuple[str, ...] = ()
    max_media: int | None = None
    video_alone: bool = False


_VISUAL = ("image", "gif", "video")
_MEDIA_NAMES = {"image": "an image", "gif": "a GIF", "video": "a video"}

# NOTE: Late documents no text limit for Facebook, Google Business, Reddit and
# Pinterest, and no media rules. Those values below are the platforms' commonly
# published rules and may differ from what Late enforces; Late's own check at
# publish time is final.
PLATFORMS: dict[str, Platform] = {
    platform.name: platform
    for platform in (
        Platform("twitter", "X", 280, Counting.WEIGHTED, max_media=4, video_alone=True),
        Platform(
            "bluesky",
            "Bluesky",
            300,
            Counting.GRAPHEMES,
            max_media=4,
            video_alone=True,
        ),
        Platform("threads", "Threads", 500, max_media=10),
        Platform("linkedin", "LinkedIn", 3000),
        Platform("instagram", "Instagram", 2200, needs_media=_VISUAL, max_media=10),
        Platform("facebook", "Facebook", 63206),
        Platform("tiktok", "TikTok", 2200, needs_media=("image", "video")),
        Platform("youtube", "YouTube", 5000, needs_media=("video",)),
        Platform("pinterest", "Pinterest", 500, needs_media=_VISUAL),
        Platform("reddit", "Reddit", 40000),
        Platform("googlebusiness", "Google Business", 1500),
        # Telegram allows 4,096 characters in a message but 1,024 in a media caption.
        Platform("telegram", "Telegram", 4096, media_limit=1024),
        Platform("snapchat", "Snapchat", 160),
        Platform("discord", "Discord", 2000),
        Platform("slack", "Slack", 40000),
    )
}

# The largest limit of any platform. Longer text fails before any platform counts
# it, because counting X's weighted length of megabytes takes minutes.
MAX_TEXT_LENGTH = max(platform.limit for platform in PLATFORMS.values())

# Names people type for a platform whose API name differs.
ALIASES = {"x": "twitter", "google": "googlebusiness", "gbp": "googlebusiness"}

MEDIA_TYPES = {
    "image": ("jpg", "jpeg", "png", "webp", "heic", "heif", "avif", "bmp", "tiff"),
    "gif": ("gif",),
    "video": ("mp4", "mov", "m4v", "webm", "avi", "mkv", "mpeg", "mpg"),
    "document": ("pdf", "doc", "docx", "ppt", "pptx"),
}
_TYPE_BY_EXTENSION = {
    extension: media_type
    for media_type, extensions in MEDIA_TYPES.items()
    for extension in extensions
}
_PRIVATE_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa")


@dataclass(frozen=True)
class TargetSpec:
    """A `-p` value: a platform and, optionally, the account to publish from."""

    platform: str
    account: str | None = None

    def __str__(self) -> str:
        return f"{self.platform}:{self.account}" if self.account else self.platform


@dataclass(frozen=True)
class MediaItem:
    """A media URL and the type Late infers from its extension."""

    url: str
    type: str


def platform_names() -> str:
    return ", ".join(sorted(PLATFORMS))


def parse_platform(name: str) -> Platform:
    """Return the platform called `name` (or one of its aliases), case-insensitively."""
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    platform = PLATFORMS.get(key)
    if platform is None:
        raise InvalidInput(
            f"unknown platform {name!r}", f"use one of {platform_names()}"
        )
    return platform


def parse_target(text: str) -> TargetSpec:
    """Parse `twitter` or `twitter:@handle` into a platform and an optional account."""
    name, separator, account = text.partition(":")
    platform = parse_platform(name)
    if not separator:
        return TargetSpec(platform.name)
    account = account.strip()
    if not account.lstrip("@"):
        raise InvalidInput(
            f"missing account after ':' in {text!r}",
            f"write '{platform.name}' or '{platform.name}:@handle'",
        )
    if any(char.isspace() or is_invisible(char) for char in account):
        raise InvalidInput(
            f"invalid account {account!r} in {text!r}: a handle has no white space"
            " or control characters",
            f"write it as 'rabb accounts' shows it, such as '{platform.name}:@handle'",
        )
    return TargetSpec(platform.name, account)


def is_invisible(char: str) -> bool:
    """Return whether `char` is a control or format character (such as ESC or an
    RTL override), which would act on the terminal or hide text."""
    return unicodedata.category(char) in ("Cc", "Cf")


def parse_targets(values: list[str]) -> list[TargetSpec]:
    """Parse `-p` values, also split on commas, and drop exact repeats."""
    specs: list[TargetSpec] = []
    for value in values:
        for part in value.split(","):
            if not part.strip():
                continue
            spec = parse_target(part)
            if spec not in specs:
                specs.append(spec)
    if not specs:
        raise InvalidInput(
            "no platform given", f"add -p PLATFORM, one of {platform_names()}"
        )
    return specs


def text_length(platform: Platform, text: str) -> int:
    """Return the length of `text` as `platform` counts it."""
    if platform.counting is Counting.WEIGHTED:
        from twitter_text import parse_tweet

        return int(parse_tweet(text).weightedLength)
    if platform.counting is Counting.GRAPHEMES:
        import wcwidth

        return sum(1 for _ in wcwidth.iter_graphemes(text))
    return len(text)


# Control characters other than tab and newline: the C0 range, DEL and the C1
# range. A reader cannot see them in a post, and escape sequences act on terminals.
_CONTROL_CHARACTER = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CONTROL_NAMES = {"\x00": "NUL", "\x07": "BEL", "\x08": "BS", "\x1b": "ESC"}


def normalize_text(text: str, source: str = "the post text") -> str:
    """Return `text` with CRLF and lone CR line ends as LF.

    Raises InvalidInput naming the line and column of the first control character
    other than tab and newline. `source` names the text in that message.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    found = _CONTROL_CHARACTER.search(text)
    if found is None:
        return text

    position = found.start()
    line = text.count("\n", 0, position) + 1
    column = position - text.rfind("\n", 0, position)
    char = found.group()
    name = f"U+{ord(char):04X}"
    if char in _CONTROL_NAMES:
        name += f" ({_CONTROL_NAMES[char]})"
    raise InvalidInput(
        f"{source} contains the control character {name} at line {line}, column"
        f" {column}",
        "remove it, because post text may contain tabs and line breaks but no other"
        " control characters",
    )


def require_text(text: str) -> None:
    """Raise InvalidInput when `text` is empty, only white space, or longer than any
    platform accepts (MAX_TEXT_LENGTH characters)."""
    if len(text) > MAX_TEXT_LENGTH:
        raise InvalidInput(
            f"text too long: {len(text):,} characters, where no platform accepts"
            f" more than {MAX_TEXT_LENGTH:,}",
            "shorten it, or check that the right file was piped in",
        )
    if not text.strip():
        raise InvalidInput(
            "the post text is empty", "write some text, or pipe it in on stdin"
        )


def check_text(text: str, platform_name: str, *, has_media: bool = False) -> None:
    """Raise InvalidInput when `text` is empty or too long for the platform.

    The size check of require_text comes first, so huge text is never counted.
    """
    require_text(text)
    platform = PLATFORMS[platform_name]
    limit = (
        platform.media_limit if has_media and platform.media_limit else platform.limit
    )
    length = text_length(platform, text)
    if length > limit:
        what = "with media " if limit != platform.limit else ""
        raise InvalidInput(
            f"text too long for {platform.label}: {length} {platform.counting}"
            f" {what}where the limit is {limit}",
            f"shorten it by {length - limit}, or give {platform.name} its own"
            f" text with --text-for {platform.name}=TEXT",
        )


def check_media(platform_name: str, media: list[MediaItem]) -> None:
    """Raise InvalidInput when the media do not suit the platform's rules."""
    platform = PLATFORMS[platform_name]
    types = [item.type for item in media]
    if platform.needs_media and not set(types) & set(platform.needs_media):
        names = [_MEDIA_NAMES[kind] for kind in platform.needs_media]
        wanted = " or ".join([", ".join(names[:-1]), names[-1]] if names[1:] else names)
        given = sorted({_MEDIA_NAMES.get(kind, f"a {kind}") for kind in types})
        problem = f", and {' or '.join(given)} does not count" if given else ""
        raise InvalidInput(
            f"{platform.label} needs media, at least {wanted}{problem}",
            f"add --media URL, or drop -p {platform.name}",
        )
    if platform.max_media is not None and len(media) > platform.max_media:
        raise InvalidInput(
            f"too many media for {platform.label}: {len(media)} where the limit is"
            f" {platform.max_media}",
            f"keep at most {platform.max_media} --media URLs",
        )
    moving = [kind for kind in types if kind in ("video", "gif")]
    if platform.video_alone and moving and len(media) > 1:
        raise InvalidInput(
            f"{platform.label} takes a {moving[0]} only as the single media item",
            "post the video on its own, or keep images only",
        )


def parse_media(url: str) -> MediaItem:
    """Check a media URL and return it with the media type of its extension.

    The URL must be http(s) with a public host and a valid port, because Late
    fetches the file from the internet. It may not contain white space, control
    characters or credentials, which rabb would print and send. The type comes
    from the path's extension; a query string such as a signature is ignored.
    """
    cleaned = url.strip()
    if not cleaned:
        raise InvalidInput(
            "empty media URL", "give a URL such as https://example.com/photo.jpg"
        )
    _check_url_characters(cleaned)
    parts = urlsplit(cleaned)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidInput(
            f"invalid media URL {url!r}",
            "use an http or https URL such as https://example.com/photo.jpg",
        )
    _check_port(parts, cleaned)
    _check_credentials(parts)
    _check_public_host(parts.hostname, url)

    extension = PurePosixPath(parts.path).suffix.lower().lstrip(".")
    media_type = _TYPE_BY_EXTENSION.get(extension)
    if media_type is None:
        known = ", ".join(sorted(_TYPE_BY_EXTENSION))
        raise InvalidInput(
            f"unknown media type for {url!r}",
            f"the URL's path must end in one of .{known.replace(', ', ', .')}",
        )
    return MediaItem(cleaned, media_type)


def _check_url_characters(url: str) -> None:
    # Checked before urlsplit, which silently drops tabs and line breaks.
    for char in url:
        if char.isspace():
            raise InvalidInput(
                f"media URL {url!r} contains white space ({char!r})",
                "encode a space as %20, or copy the URL again from the browser",
            )
        if is_invisible(char):
            kind = "control" if unicodedata.category(char) == "Cc" else "format"
            raise InvalidInput(
                f"media URL {url!r} contains the {kind} character U+{ord(char):04X}",
                "copy the URL again, without hidden characters",
            )


def _check_port(parts: SplitResult, url: str) -> None:
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        raise InvalidInput(
            f"invalid port in media URL {url!r}",
            "use a port from 1 to 65535, or leave the port out",
        )


def _check_credentials(parts: SplitResult) -> None:
    if parts.username is None and parts.password is None:
        return
    host = parts.netloc.rpartition("@")[2]
    shown = urlunsplit(parts._replace(netloc=f"***@{host}"))
    raise InvalidInput(
        f"media URL {shown!r} contains a user name or password",
        "Late fetches media without credentials, and rabb would print and send"
        " them. Use a public URL, or a signed link without 'user:password@'",
    )


def _check_public_host(host: str, url: str) -> None:
    name = host.lower().rstrip(".")
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        address = None

    if address is not None:
        public = address.is_global and not address.is_multicast
    else:
        public = "." in name and not (
            name == "localhost" or name.endswith(_PRIVATE_SUFFIXES)
        )
    if not public:
        raise InvalidInput(
            f"media URL {url!r} does not point to a public host",
            "Late downloads media from the internet, so upload the file somewhere"
            " public and use that URL",
        )
