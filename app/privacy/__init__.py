"""Customers' personal data: where Seam holds it (`holdings`), a copy of all of it for one customer
(`export`), its erasure (`erase`) and its expiry per source (`retention`). See docs/privacy.md."""
