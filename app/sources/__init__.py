"""Survey and support tools as feedback sources: configuration, signed webhook receivers, processing.

* ``router``: ``/api/v1/sources`` (configure, test a mapping, quarantine and replay).
* ``receiver``: ``/webhooks/{source_id}``: verify the vendor's signature over the raw bytes, store the
  delivery in the inbox once per vendor delivery id, answer 202. Nothing else happens in the request.
* ``processing``: the outbox handler that turns a stored delivery into feedback items.
* ``service``: the only writer of ``sources`` rows; ``convert``: draft -> ``FeedbackIn`` and the upsert.

The vendor side (signatures, payload shapes, mappings) lives in ``integrations.surveys``.
"""
