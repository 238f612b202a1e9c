"""The click CLI: a thin layer over aihpc.api. Subcommands load lazily."""
