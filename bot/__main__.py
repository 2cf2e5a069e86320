"""`python -m bot` is the same program as the `socialbridge` command."""

from bot.cli import main

raise SystemExit(main())
