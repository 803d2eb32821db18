"""Fast in-process Mongo: mongomock with hash indexes on `_id` and declared fields.

`FastMongoClient` replaces `mongomock_motor.AsyncMongoMockClient` where the cluster is
assembled; services keep using the motor API and `create_index` and never know which
client they have. Equality filters on indexed fields (a literal, `$eq` or `$in`) narrow the
candidates through the index; mongomock's matcher then applies the whole filter, so
results are mongomock's. Any other filter scans, exactly as mongomock does. Cursors filter
and sort the stored documents in place and copy only the page they return (cursor.py,
sorting.py), where mongomock copies and sorts every match before skip and limit.
"""

from .client import FastMongoClient

__all__ = ["FastMongoClient"]
