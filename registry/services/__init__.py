"""Queries and writes through Piccolo, inside transactions; every rule from domain/ or geo/.

Scope checks (who may touch what) live here, so no endpoint can forget them.
"""
