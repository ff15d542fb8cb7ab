"""The SQLite file: pragmas, migrations with a backup first, damage detection, reset."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from companion.errors import DatabaseDamagedError
from companion.model import NewEvent
from companion.storage import database, journal, schema
from companion.storage.database import connect, open_database, reset_database


def _event(seq: int | None, stream: str = "s") -> NewEvent:
    return NewEvent("test", stream, seq, "E", f'{{"n": {seq or 0}}}')


def test_new_database_is_wal_full_and_migrated(tmp_path: Path) -> None:
    path = tmp_path / "companion.db"
    open_database(path)
    conn = connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == database.BUSY_TIMEOUT_MS
    conn.close()
    assert not list(tmp_path.glob("*.backup-*")), "a fresh database needs no backup"


def test_migration_backs_up_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "companion.db"
    open_database(path)
    conn = connect(path)
    conn.execute("BEGIN")
    journal.append(conn, [_event(1)], 1)
    conn.execute("COMMIT")
    conn.close()
    extra = "CREATE TABLE later_feature (x INTEGER)"
    monkeypatch.setattr(database, "MIGRATIONS", (*schema.MIGRATIONS, extra))
    monkeypatch.setattr(database, "SCHEMA_VERSION", schema.SCHEMA_VERSION + 1)
    open_database(path)
    [backup] = tmp_path.glob(f"companion.db.backup-v{schema.SCHEMA_VERSION}-*")
    old = sqlite3.connect(backup)
    assert old.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
    assert old.execute("SELECT count(*) FROM journal").fetchone()[0] == 1
    old.close()
    conn = connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION + 1
    conn.execute("SELECT x FROM later_feature")
    conn.close()


def test_migration_2_adds_the_payload_column_to_a_v1_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "companion.db"
    with monkeypatch.context() as patch:
        patch.setattr(database, "MIGRATIONS", schema.MIGRATIONS[:1])
        patch.setattr(database, "SCHEMA_VERSION", 1)
        open_database(path)
    conn = connect(path)
    conn.execute(
        "INSERT INTO journal (source, stream, seq, event, data, received_at) "
        "VALUES ('test', 's', 1, 'E', '{}', 5)"
    )
    conn.close()
    open_database(path)
    assert list(tmp_path.glob("companion.db.backup-v1-*"))
    conn = connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION >= 2
    [row] = journal.read_after(conn, 0, 10)
    assert (row.seq, row.data, row.payload) == (1, "{}", None)
    conn.close()


def test_payload_blob_round_trips_through_the_journal(tmp_path: Path) -> None:
    path = tmp_path / "companion.db"
    open_database(path)
    conn = connect(path)
    blob = bytes(range(256)) * 3  # every byte value, NUL included
    events = [
        NewEvent("test", "s", 1, "TickBlock", '{"v": 2}', 10, blob),
        _event(2),
        NewEvent("test", "s", 3, "TickBlock", '{"v": 2}', 11, b""),
    ]
    conn.execute("BEGIN")
    one = journal.append(conn, [NewEvent("test", "t", 1, "TickBlock", "{}", None, b"\x00\xff")], 7)
    many = journal.append(conn, events, 8)
    conn.execute("COMMIT")
    assert [r.payload for r in one.new_rows] == [b"\x00\xff"]
    assert [r.payload for r in many.new_rows] == [blob, None, b""]
    stored = journal.read_after(conn, 0, 10)
    assert stored == [*one.new_rows, *many.new_rows]
    assert [type(r.payload) for r in stored] == [bytes, bytes, type(None), bytes]
    kinds = conn.execute("SELECT typeof(payload) FROM journal ORDER BY id").fetchall()
    assert [k for (k,) in kinds] == ["blob", "blob", "null", "blob"]
    conn.close()


def test_garbage_file_is_reported_not_replaced(tmp_path: Path) -> None:
    path = tmp_path / "companion.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(DatabaseDamagedError) as caught:
        open_database(path)
    message = str(caught.value)
    assert str(path) in message
    assert "companion db reset" in message
    assert "no backup" in message
    assert path.read_bytes() == b"this is not a database" * 100


def test_corrupted_pages_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "companion.db"
    open_database(path)
    conn = connect(path)
    conn.execute("BEGIN")
    journal.append(conn, [_event(n) for n in range(3000)], 1)
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    raw = bytearray(path.read_bytes())
    page = 4096
    for offset in range(page * 3, page * 6):  # clobber some b-tree pages in the middle
        raw[offset] = 0xA5
    path.write_bytes(bytes(raw))
    with pytest.raises(DatabaseDamagedError, match="is damaged"):
        open_database(path)


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "companion.db"
    open_database(path)
    conn = connect(path)
    conn.execute(f"PRAGMA user_version = {schema.SCHEMA_VERSION + 5}")
    conn.close()
    with pytest.raises(DatabaseDamagedError, match="newer companion"):
        open_database(path)


def test_reset_moves_the_file_and_its_wal_aside(tmp_path: Path) -> None:
    path = tmp_path / "companion.db"
    open_database(path)
    keep = connect(path)  # keeps the -wal file in place
    aside = reset_database(path)
    keep.close()
    assert aside is not None and aside.name.startswith("companion.db.broken-")
    assert aside.exists()
    assert not path.exists()
    assert reset_database(path) is None
    open_database(path)
    assert path.exists()


def test_two_resets_within_a_second_keep_both_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from companion.storage import database

    monkeypatch.setattr(database, "_stamp", lambda: "20261125T120000")  # one second for both
    path = tmp_path / "companion.db"
    open_database(path)
    first = reset_database(path)
    open_database(path)
    second = reset_database(path)
    assert first is not None and second is not None and first != second
    assert first.exists() and second.exists()


def test_journal_ids_are_never_reused(tmp_path: Path) -> None:
    path = tmp_path / "companion.db"
    open_database(path)
    conn = connect(path)
    conn.execute("BEGIN")
    first = journal.append(conn, [_event(1), _event(2)], 1)
    conn.execute("COMMIT")
    conn.execute("DELETE FROM journal WHERE id = ?", (first.ids[-1],))
    conn.execute("BEGIN")
    later = journal.append(conn, [_event(3)], 1)
    conn.execute("COMMIT")
    assert later.ids[0] > first.ids[-1]
    conn.close()


def test_duplicates_get_the_id_of_the_row_they_repeat(tmp_path: Path) -> None:
    path = tmp_path / "companion.db"
    open_database(path)
    conn = connect(path)
    conn.execute("BEGIN")
    result = journal.append(conn, [_event(1), _event(1), _event(2), _event(None), _event(None)], 1)
    conn.execute("COMMIT")
    assert result.accepted == 4
    assert result.duplicates == 1
    assert result.ids[0] == result.ids[1]
    assert len(set(result.ids)) == 4
    assert journal.count_pending(conn) == 4
    conn.close()


def test_a_repeat_in_a_later_chunk_of_a_batch_keeps_order_and_ids(tmp_path: Path) -> None:
    # A batch goes in as statements of 512, 256, ... rows; here the first 512 go in as they are
    # and the statement of the last three meets a stored key.
    path = tmp_path / "companion.db"
    open_database(path)
    conn = connect(path)
    conn.execute("BEGIN")
    stored = journal.append(conn, [_event(1000, "t")], 1)
    batch = [_event(n) for n in range(512)] + [_event(5000), _event(1000, "t"), _event(3)]
    result = journal.append(conn, batch, 2)
    conn.execute("COMMIT")
    assert (result.accepted, result.duplicates) == (513, 2)
    assert result.ids[513] == stored.ids[0]
    assert result.ids[514] == result.ids[3]
    new_ids = result.ids[:513]
    assert list(new_ids) == sorted(new_ids) and len(set(new_ids)) == 513
    assert [row.id for row in result.new_rows] == list(new_ids)
    assert [row.seq for row in result.new_rows] == [*range(512), 5000]
    rows = journal.read_after(conn, stored.ids[0], 1000)
    assert [(row.id, row.seq, row.received_at_us) for row in rows] == [
        (row.id, row.seq, 2) for row in result.new_rows
    ]
    conn.close()
