"""CLI subcommands: one module each, exposing ``register(subparsers)``.

``register`` adds the subparser and sets ``func`` (a callable taking the parsed
arguments and returning an exit code). Keep module-level imports light.
"""
