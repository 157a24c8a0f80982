"""Long-term memory on Weaviate: a LangGraph ``BaseStore`` over weaviate-client v4.

Modules: ``naming`` (collections and object ids), ``filters`` (store filters as facets
plus client-side checks), ``connection`` (``weaviate://`` URLs), ``store`` (the client I/O).

Layout, one Weaviate collection per store namespace:

* The collection is named ``<prefix>_<slug>_<hash>``: the slug keeps the letters and
  digits of the namespace parts (readable in the Weaviate console), the hash (12 hex
  digits of SHA-256 over the namespace as JSON) keeps distinct namespaces apart however
  they sanitise. The collection's description holds the namespace as JSON, so one
  schema read maps every collection back to its namespace (``list_namespaces`` and
  prefix search); each object also carries it in its ``namespace`` property.
* An object's UUID is derived from (namespace, key) with ``generate_uuid5``, so a put is
  an upsert and a get is a lookup by id.
* Properties: ``key``; ``namespace`` (JSON); ``value`` (the item's value as JSON text,
  the source of truth); ``text`` (the indexed text); ``facets`` (see filters);
  ``created_at`` and ``updated_at`` (dates; ``created_at`` survives an overwrite).
* Vectors are Chimera's own (``ChimeraEmbeddings`` unless told otherwise), sent with the
  objects as the self-provided named vector ``default`` (cosine HNSW); Weaviate never
  vectorises. The indexed text is the store's ``fields`` (``["text"]``) or the put's
  ``index`` paths; when the paths yield several texts they are joined with newlines
  into one vector (Postgres and the in-memory store keep one vector per text and rank
  by the best). ``index=False`` items, and items with no text at the paths, get no
  vector: they are stored and filterable but never returned by a ``query=`` search,
  as with the Postgres store.

Filters: the value lives in the JSON blob, so each top-level scalar of a value is also
written as a facet, the JSON text of ``[field, value]`` (integral floats written as
ints, so ``5`` matches ``5.0``), in the ``facets`` text array (``field`` tokenisation).
Equality on a scalar (``{"k": v}`` or ``{"k": {"$eq": v}}``) becomes a Weaviate
``contains_all`` filter on the facets, run by the server. Everything else (``$ne``,
``$gt``/``$gte``/``$lt``/``$lte``, equality on lists or objects) is checked on the
client, on pages fetched from Weaviate until ``offset + limit`` items pass. Client-side
semantics follow PostgreSQL's JSONB: a missing field fails every condition (``$ne``
too), numbers compare as numbers, strings as strings, mixed types never match, and an
object or a list matches only when equal as a whole.

Ordering: ``query=`` results by cosine similarity (``score`` = 1 - cosine distance, as
in the Postgres store); other searches by ``updated_at``, newest first, then key. A
search over a namespace prefix queries every collection under the prefix and merges.

Both ``batch`` and ``abatch`` exist; ``abatch`` runs the synchronous client in a worker
thread. TTLs are not supported. Reads in a batch see the store as it was before the
batch's puts, as in LangGraph's own stores.
"""
