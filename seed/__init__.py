"""Seed data (real 怀化 divisions and boundaries) and the deterministic demo generator."""

from pathlib import Path

DATA_DIR = Path(__file__).parent / "data"
