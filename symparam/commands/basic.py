"""count, summary, derive (owned by the CLI work; see issue 2)."""
