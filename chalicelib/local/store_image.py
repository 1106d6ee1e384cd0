"""What the last save of the local store holds, item by item as JSON text, so the next save is
that one plus the journal written since (saved_state.py): moto's tables are copied once, when
the store is loaded, never again while the stack serves. Copying every item out of moto (its
`to_json`) had to hold every moto call, and with 50,000 profiles and their change log it took
most of each 30 seconds under a bulk load.

Items are kept by their table's key (as the journal names it: the key attributes in DynamoDB
JSON, keys sorted), objects by their key, in the state formats the save file and journal use."""

from __future__ import annotations

from typing import IO

from .journal import item_text, key_text

CHUNK = 2000  # items written at a time: the encoder and gzip hold the GIL per chunk only


class StoreImage:
    def __init__(self, key_names: dict[str, tuple[str, ...]], bucket: str | None):
        self.key_names = key_names  # table -> its key attributes (hash, then range)
        self.bucket = bucket
        self.tables: dict[str, dict[str, str]] = {name: {} for name in key_names}
        self.objects: dict[str, dict] = {}

    @classmethod
    def of(cls, key_names, bucket, tables: dict[str, list], objects: dict) -> "StoreImage":
        """From a save's content (or a copy in that shape)."""
        image = cls(key_names, bucket)
        for name, items in tables.items():
            names = key_names.get(name)
            if names is None:
                continue
            rows = image.tables.setdefault(name, {})
            for attrs in items:
                rows[key_text({n: attrs[n] for n in names})] = item_text(attrs)
        image.objects.update(objects or {})
        return image

    def apply(self, record: dict) -> None:
        """One journal record (journal.parse): the new state of each item and object it names,
        items as the texts the record holds."""
        for table_name, key, item in record.get("d", []):
            if table_name not in self.key_names:
                continue
            rows = self.tables.setdefault(table_name, {})
            if item is None:
                rows.pop(key, None)
            else:
                rows[key] = item
        for bucket, key, state in record.get("s", []):
            if bucket != self.bucket:
                continue
            if state is None:
                self.objects.pop(key, None)
            else:
                self.objects[key] = state

    def items(self) -> int:
        return sum(len(rows) for rows in self.tables.values()) + len(self.objects)

    def write(self, out: IO[bytes], header: dict) -> None:
        """The save file's JSON (saved_state.read parses it), written a chunk at a time."""
        head = item_text({**header, "bucket": self.bucket, "objects": self.objects})
        out.write(head[:-1].encode() + b',"tables":{')
        for t, (name, rows) in enumerate(self.tables.items()):
            out.write((("," if t else "") + item_text(name) + ":[").encode())
            texts = list(rows.values())
            for start in range(0, len(texts), CHUNK):
                sep = "," if start else ""
                out.write((sep + ",".join(texts[start : start + CHUNK])).encode())
            out.write(b"]")
        out.write(b"}}")
