"""People: looking persons and their events up (``lookup``); later segments, RFM and LTV."""
