"""Residents: the public search (/find, /api/find) and a site's public page (/s/{code})."""
