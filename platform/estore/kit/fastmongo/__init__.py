"""Fast in-process Mongo: mongomock with the indexes a real server would use, answering alike.

`FastMongoClient` replaces `mongomock_motor.AsyncMongoMockClient` where the cluster is
assembled; services keep using the motor API and `create_index` and never know which
client they have. What it adds over mongomock, each proven equal to plain mongomock by the
differential tests in tests/kit:
- hash indexes on `_id` and on declared fields: equality filters on them (a literal, `$eq`,
  `$in`) narrow the candidates (store.py, keys.py);
- filters compiled once per filter shape into a Python predicate, which asks mongomock's
  matcher only about values it does not decide natively (predicate.py);
- the first field of every declared index kept in sort order: a sorted, limited page reads
  the index from one end and stops when the page is full (ordered.py, cursor.py);
- TTL indexes that expire documents from a deadline order instead of testing every document
  on every read, on an injectable clock (ordered.py);
- only the page a cursor returns is copied, in one pass with the tz-aware conversion
  (cursor.py, copying.py).
Writes re-file a document only in the indexes whose keys it changed.
`FastMongoClient(fast_paths=False)` is plain mongomock, for side-by-side benchmarks.
"""

from .client import FastMongoClient

__all__ = ["FastMongoClient"]
