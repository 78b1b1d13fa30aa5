"""``python -m ganzoo`` (also what ``torchrun -m ganzoo`` runs)."""

from .cli import main

main()
