"""rabb: write, schedule and publish social-media posts from the terminal."""

__version__ = "0.1.0"
