"""Backups: a consistent copy of the database and the instance secrets in one archive, and restoring it.

The archive (a gzipped tar, readable by the operator only) holds:

  manifest.json      what is inside: the database kind, its file and checksum, the Alembic
                     revision, the rows per table at the moment of the copy, the secrets
  database.pgdump    PostgreSQL: pg_dump's custom format, taken in one snapshot
  database.sqlite3   SQLite: a copy made with SQLite's online backup API (writers may go on)
  secrets/secret_key the instance folder's generated SECRET_KEY, when there is one

The search index and the render cache are not in it: they are derived from the content and
rebuilt by `flask search build` (or at start-up). A restore goes into an empty database only,
unless forced, and checks the rows per table against the manifest afterwards.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from .extensions import db

FORMAT = 1
MANIFEST = "manifest.json"
# What the instance folder holds that cannot be made again. The rest of it (the search index,
# the render cache) is derived; the SQLite database goes in as the database.
SECRET_FILES = ("secret_key",)


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why and what to do."""


# -- the database: which kind, how full -----------------------------------------------------------

def _url(database_url: str):
    return make_url(database_url)


def _dialect(database_url: str) -> str:
    name = _url(database_url).get_backend_name()
    if name not in ("postgresql", "sqlite"):
        raise BackupError(f"backups support PostgreSQL and SQLite, not {name}")
    return name


def _sqlite_path(database_url: str) -> Path:
    path = _url(database_url).database
    if not path or path == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(path)


def _libpq(database_url: str) -> tuple[str, dict]:
    """Return a libpq connection URI without the password, and an environment carrying it.

    The password goes in PGPASSWORD, not on the command line, where `ps` would show it.
    """
    url = _url(database_url)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False), env


def table_rows(connection) -> dict[str, int]:
    """Return {table: rows} for every table in the database of this connection."""
    names = inspect(connection).get_table_names()
    preparer = connection.dialect.identifier_preparer
    return {name: connection.execute(text(f"SELECT COUNT(*) FROM {preparer.quote(name)}")).scalar_one()
            for name in sorted(names)}


def _revision(rows: dict, connection) -> str | None:
    if "alembic_version" not in rows:
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _major(version_text: str) -> int:
    """Return the major version from `pg_dump --version`: "pg_dump (PostgreSQL) 15.20 (Debian ...)" is 15."""
    match = re.search(r"\)\s*(\d+)", version_text) or re.search(r"(\d+)", version_text)
    if not match:
        raise BackupError(f"cannot read a PostgreSQL version from {version_text!r}")
    return int(match.group(1))


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise BackupError(f"{name} is not installed: apt-get install postgresql-client-<server major version>")
    return found


def _check_pg_tool(name: str, server_version_num: int) -> str:
    """Return the tool's path; refuse a tool older than the server (it would refuse or miss things)."""
    tool = _tool(name)
    output = subprocess.run([tool, "--version"], capture_output=True, text=True, check=True).stdout
    tool_major, server_major = _major(output), server_version_num // 10000
    if tool_major < server_major:
        raise BackupError(f"{name} {tool_major} is older than the PostgreSQL server ({server_major}): install "
                          f"postgresql-client-{server_major}")
    return tool


# -- making a backup ---------------------------------------------------------------------------------

def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def _dump_postgresql(database_url: str, target: Path) -> dict:
    """pg_dump in the snapshot in which the rows were counted: manifest and dump agree exactly."""
    with db.engine.connect() as connection:
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            server = int(connection.execute(text("SHOW server_version_num")).scalar_one())
            tool = _check_pg_tool("pg_dump", server)
            snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            rows = table_rows(connection)
            revision = _revision(rows, connection)
            uri, env = _libpq(database_url)
            result = subprocess.run([tool, "--format=custom", "--no-owner", "--no-privileges",
                                     f"--snapshot={snapshot}", f"--file={target}", f"--dbname={uri}"],
                                    env=env, capture_output=True, text=True)
            if result.returncode != 0:
                raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
    return {"kind": "postgresql", "file": "database.pgdump", "server_version_num": server, "tables": rows,
            "alembic_revision": revision}


def _copy_sqlite(database_url: str, target: Path) -> dict:
    """Copy with SQLite's online backup API: a consistent copy while the site goes on writing."""
    source_path = _sqlite_path(database_url)
    if not source_path.exists():
        raise BackupError(f"no database at {source_path}")
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
    finally:
        source.close()
    try:
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        rows = {name: copy.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0]
                for (name,) in copy.execute("SELECT name FROM sqlite_master WHERE type='table' "
                                            "AND name NOT LIKE 'sqlite_%' ORDER BY name")}
        revision = copy.execute("SELECT version_num FROM alembic_version").fetchone()[0] \
            if "alembic_version" in rows else None
    finally:
        copy.close()
    return {"kind": "sqlite", "file": "database.sqlite3", "sqlite_version": sqlite3.sqlite_version,
            "tables": rows, "alembic_revision": revision}


def create_backup(target: Path, database_url: str, instance_path: str) -> dict:
    """Write the archive to target (readable by its owner only); return the manifest."""
    target = Path(target)
    kind = _dialect(database_url)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="helpsite-backup-") as scratch:
        scratch = Path(scratch)
        database = (_dump_postgresql if kind == "postgresql" else _copy_sqlite)(
            database_url, scratch / ("database.pgdump" if kind == "postgresql" else "database.sqlite3"))
        database["sha256"] = _sha256(scratch / database["file"])
        secrets = {}
        for name in SECRET_FILES:
            path = Path(instance_path) / name
            if path.is_file():
                secrets[name] = _sha256(path)
        manifest = {"format": FORMAT, "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                    "database": database, "secrets": secrets}
        partial = target.with_name(f".{target.name}.partial")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as archive:
            data = json.dumps(manifest, indent=2).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mode = len(data), 0o600
            archive.addfile(info, io.BytesIO(data))
            archive.add(scratch / database["file"], arcname=database["file"])
            for name in secrets:
                archive.add(Path(instance_path) / name, arcname=f"secrets/{name}")
        os.replace(partial, target)  # a backup cut short by a crash never looks like a whole one
    return manifest


# -- restoring ---------------------------------------------------------------------------------------

def read_manifest(archive: tarfile.TarFile) -> dict:
    try:
        manifest = json.load(archive.extractfile(MANIFEST))
    except (KeyError, ValueError, AttributeError) as exc:
        raise BackupError(f"not a help-site backup (no readable {MANIFEST}): {exc}") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"backup format {manifest.get('format')} is not supported (this version reads {FORMAT})")
    return manifest


def _extract(archive: tarfile.TarFile, name: str, target: Path, sha256: str) -> Path:
    """Extract one named member (never extractall: a crafted archive could write anywhere) and check it."""
    member = archive.getmember(name)
    if not member.isfile():
        raise BackupError(f"{name} in the backup is not a file")
    with archive.extractfile(member) as source, open(target, "wb") as out:
        shutil.copyfileobj(source, out)
    if _sha256(target) != sha256:
        raise BackupError(f"{name} in the backup is damaged (checksum differs)")
    return target


def target_rows(database_url: str) -> dict[str, int]:
    """Return {table: rows} of the restore target; empty when it has no tables (or no file yet)."""
    if _dialect(database_url) == "sqlite" and not _sqlite_path(database_url).exists():
        return {}
    with db.engine.connect() as connection:
        return table_rows(connection)


def restore_backup(archive_path: Path, database_url: str, instance_path: str, force: bool = False) -> dict:
    """Restore the archive into the database and instance folder; return the manifest.

    Refuses, before changing anything, a database that has tables or an instance secret that
    differs from the backup's, unless force. Afterwards the rows per table must match the
    manifest.
    """
    kind = _dialect(database_url)
    with tarfile.open(archive_path, mode="r:gz") as archive, \
            tempfile.TemporaryDirectory(prefix="helpsite-restore-") as scratch:
        manifest = read_manifest(archive)
        database = manifest["database"]
        if database["kind"] != kind:
            raise BackupError(f"the backup holds a {database['kind']} database; the target is {kind}")
        dump = _extract(archive, database["file"], Path(scratch) / database["file"], database["sha256"])
        secrets = {name: _extract(archive, f"secrets/{name}", Path(scratch) / name, digest)
                   for name, digest in manifest.get("secrets", {}).items() if name in SECRET_FILES}

        existing = target_rows(database_url)
        if existing and not force:
            raise BackupError(f"the target database is not empty ({len(existing)} tables, "
                              f"{sum(existing.values())} rows): restore into an empty database, or add --force "
                              "to replace what is there")
        for name, source in secrets.items():
            present = Path(instance_path) / name
            if present.exists() and present.read_bytes() != source.read_bytes() and not force:
                raise BackupError(f"{present} differs from the backup's: add --force to replace it")

        db.session.remove()
        db.engine.dispose()
        if kind == "postgresql":
            _restore_postgresql(dump, database_url, clean=bool(existing))
        else:
            _restore_sqlite(dump, database_url)
        db.engine.dispose()
        for name, source in secrets.items():
            present = Path(instance_path) / name
            present.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(present, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "wb") as out:
                out.write(source.read_bytes())

    restored = target_rows(database_url)
    if restored != database["tables"]:
        differ = sorted(name for name in set(restored) | set(database["tables"])
                        if restored.get(name) != database["tables"].get(name))
        raise BackupError(f"restored, but these tables differ from the backup: {', '.join(differ)}")
    return manifest


def _restore_postgresql(dump: Path, database_url: str, clean: bool) -> None:
    with db.engine.connect() as connection:
        server = int(connection.execute(text("SHOW server_version_num")).scalar_one())
    tool = _check_pg_tool("pg_restore", server)
    uri, env = _libpq(database_url)
    command = [tool, "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction", f"--dbname={uri}"]
    if clean:
        command[1:1] = ["--clean", "--if-exists"]
    result = subprocess.run([*command, str(dump)], env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"pg_restore failed (nothing was changed): {result.stderr.strip()}")


def _restore_sqlite(copy: Path, database_url: str) -> None:
    """Write the copy over the target with the backup API: a running reader sees the old or the new, whole."""
    target = _sqlite_path(database_url)
    target.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(copy)
    destination = sqlite3.connect(target)
    try:
        source.backup(destination)
    finally:
        source.close()
        destination.close()
