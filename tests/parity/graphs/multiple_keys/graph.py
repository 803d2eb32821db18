"""Several keys per type: each hop uses a key its source can provide (id, isbn, a nested one)."""

from tests.parity.graph_corpus import Ask

BOOKS = [
    {"id": "b1", "isbn": "978-1", "title": "Dune", "shelf": {"aisle": 1, "slot": 4}},
    {"id": "b2", "isbn": "978-2", "title": "Emma", "shelf": {"aisle": 2, "slot": 1}},
]

DATA = {
    "catalog": {"Query": {"books": BOOKS}, "entities": {"Book": BOOKS}},
    "prices": {
        "Query": {"deals": [{"isbn": "978-2"}, {"isbn": "978-1"}]},
        "entities": {"Book": [{"isbn": "978-1", "price": 9}, {"isbn": "978-2", "price": None}]},
    },
    "library": {
        "Query": {
            "loans": [{"who": "ann", "book": {"id": "b2"}}, {"who": "tom", "book": {"id": "b1"}}]
        },
        "entities": {"Book": [{"id": "b1", "onLoan": True}, {"id": "b2", "onLoan": False}]},
    },
    "shelves": {
        "entities": {
            "Book": [
                {"shelf": {"aisle": 1, "slot": 4}, "dusty": True},
                {"shelf": {"aisle": 2, "slot": 1}, "dusty": False},
            ]
        }
    },
}

ASKS = [
    Ask("from the owner to every keyed subgraph", "{ books { title price onLoan dusty } }"),
    Ask("isbn-keyed deals to the id-keyed library", "{ deals { price title onLoan } }"),
    Ask("id-keyed loans to isbn-keyed prices", "{ loans { who book { price isbn } } }"),
    Ask("through a nested key", "{ loans { book { dusty shelf { aisle } } } }"),
    Ask("every key selected by the client", "{ deals { id isbn shelf { aisle slot } dusty } }"),
    Ask("aliases over the hops", "{ deals { cost: price name: title out: onLoan } }"),
]
