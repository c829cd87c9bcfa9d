"""Everything that talks to the outside: Late client, email alerts, run engine."""
