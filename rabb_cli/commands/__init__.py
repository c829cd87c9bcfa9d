"""Command modules: each parses options, calls the domain and renders the result.

They import only Typer and light modules at the top, so `rabb --help` and TAB
completion never load the database or HTTP libraries.
"""
