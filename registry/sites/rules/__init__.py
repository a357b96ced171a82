"""The sites' pure rules: the status machine (``status``), the standard sign name
(``signage``), coordinates and boundaries (``location``) and a site's facts (``facts``). No
framework, no ORM, no SQL."""
