"""Print the served OpenAPI document: ``python -m app.openapi > openapi/openapi.json``."""

import sys

import orjson

from app.main import create_app


def document() -> bytes:
    return orjson.dumps(create_app().openapi(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)


if __name__ == "__main__":
    sys.stdout.buffer.write(document() + b"\n")
