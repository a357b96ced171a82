"""The cases' pure rules: a case's timeline, deadlines, fees, numbers and fingerprints
(``timeline``), resident data checks, masks and keyed hashes (``resident``), the resident ID
number (``resident_id``) and China's working days (``workdays``). No framework, no ORM, no SQL."""
