"""Shell formats for TAB completion, loaded only for a completion request.

They are Typer's zsh and fish formats without the Rich markup pass over help text.
Typer imports Rich for every item with help text, which added about 90 ms to a
TAB press on the machine in docs/benchmarks.md. rabb's help has no markup
(`rich_markup_mode=None`).
"""

from typer._click import Command
from typer._click.shell_completion import CompletionItem, add_completion_class
from typer._completion_classes import FishComplete, ZshComplete, completion_init

from rabb_cli.completion import one_line
from rabb_cli.startup import skip_all_conversion


class PlainZshComplete(ZshComplete):
    """Typer's zsh completion without its Rich markup pass over help text."""

    def format_completion(self, item: CompletionItem) -> str:
        # The zsh script evals this output. `_arguments` then evals each pair
        # inside double quotes, and `_describe` splits value from help at the
        # first colon that has no backslash before it.
        value = _zsh_double_quoted(item.value).replace(":", "\\:")
        if not item.help:
            return f'"{value}"'
        return f'"{value}":"{_zsh_double_quoted(one_line(item.help))}"'

    def complete(self) -> str:
        args, incomplete = self.get_completion_args()
        items = self.get_completions(args, incomplete)
        if not items:
            return "_files"
        # The whole list sits in one single-quoted word, so a `'` in a post's
        # text closes the quotes, adds an escaped quote and reopens them.
        listing = "\n".join(self.format_completion(item) for item in items)
        return "_arguments '*: :((" + listing.replace("'", "'\\''") + "))'"


class PlainFishComplete(FishComplete):
    """Typer's fish completion without its Rich markup pass over help text."""

    def format_completion(self, item: CompletionItem) -> str:
        if not item.help:
            return str(item.value)
        return f"{item.value}\t{one_line(item.help)}"


def prepare_completion(command: Command) -> None:
    """Set up a completion request: plain zsh and fish formats, no conversion."""
    # Typer registers its own formats only while building an app whose
    # add_completion is on, so this does not depend on that setting.
    completion_init()
    add_completion_class(PlainZshComplete, "zsh")
    add_completion_class(PlainFishComplete, "fish")
    skip_all_conversion(command)


def _zsh_double_quoted(text: str) -> str:
    for special in ("\\", '"', "$", "`"):
        text = text.replace(special, "\\" + special)
    return text
