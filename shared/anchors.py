"""Signed anchors of a service's hash chain, kept in files outside PostgreSQL, so that the
superuser of the database server can neither forge nor silently remove them.

Each service's anchors are one append-only JSON Lines file, `<anchor dir>/<database>.jsonl`
(`INNOBASE_ANCHOR_DIR`), which operators can ship elsewhere as it grows. A line anchors the chain
up to a position: the head's full hash, and the short hash (`LINK_CHARS` hex characters) of
every event since the line before, so that a verifier can name the first event whose content
no longer matches, not only the anchor that no longer does. Each line names the line before
it (`seq` and the SHA-256 of its bytes), so a line removed from the middle breaks the file's
own chain, and is signed with Ed25519 by a key kept in a file (`INNOBASE_ANCHOR_KEY`, made by
`innobase anchors keygen`) that no database ever holds; verifying needs only the public key
(`INNOBASE_ANCHOR_PUBLIC_KEY`, by default the key file's name with `.pub`).
"""
from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
from contextlib import contextmanager
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from shared import clock, settings

FORMAT = 1
LINK_CHARS = 16  # 64 bits per event locate an edit; the head's full hash carries the proof
LINKS_PER_LINE = 10_000  # a first anchor of a long log is written as several lines
NO_LINE = "0" * 64


class AnchorKeyMissing(Exception):
    """No signing (or, to verify, no public) key at the configured path."""

    def __init__(self, path: str, what: str = "signing key"):
        super().__init__(f"no anchor {what} at {path}: create one with `innobase anchors keygen`")
        self.path = path


class AnchorFileDamaged(Exception):
    """A line of the anchors file that is not what it claims: forged, removed, altered, unreadable."""

    def __init__(self, line: int, problem: str, position: int | None = None):
        super().__init__(f"anchors file line {line}: {problem}")
        self.line = line
        self.problem = problem
        self.position = position  # the first position the line covers, when it can be read


# --- the key ----------------------------------------------------------------------

def generate_key(path: str | None = None, force: bool = False) -> tuple[str, str]:
    """Write a new Ed25519 key (mode 0600) and its public key beside it; refuses to replace a
    key unless `force` (anchors signed with the old key then no longer verify)."""
    config = settings.get()
    path = path or config.anchor_key_file
    public_path = config.anchor_public_key_file if path == config.anchor_key_file else path + ".pub"
    if os.path.exists(path) and not force:
        raise FileExistsError(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(private)
    with open(public_path, "wb") as out:
        out.write(_public_pem(key.public_key()))
    return path, public_path


def signing_key() -> Ed25519PrivateKey:
    path = settings.get().anchor_key_file
    try:
        with open(path, "rb") as key_file:
            return serialization.load_pem_private_key(key_file.read(), password=None)
    except FileNotFoundError:
        raise AnchorKeyMissing(path) from None


def public_key() -> Ed25519PublicKey:
    """The verifier's key: the public key file, or the signing key's own where only that is here."""
    path = settings.get().anchor_public_key_file
    try:
        with open(path, "rb") as key_file:
            return serialization.load_pem_public_key(key_file.read())
    except FileNotFoundError:
        try:
            return signing_key().public_key()
        except AnchorKeyMissing:
            raise AnchorKeyMissing(path, "public key") from None


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def _public_pem(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _signed_bytes(record: dict) -> bytes:
    unsigned = {k: v for k, v in record.items() if k != "signature"}
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


# --- the file -----------------------------------------------------------------------

def path_for(database: str) -> str:
    return os.path.join(settings.get().anchor_dir, f"{database}.jsonl")


@dataclass
class Anchor:
    """One verified line: the head it anchors and the short hash of each event since the line before."""
    line: int
    service: str
    position: int
    hash: str
    recorded_at: str
    links: list  # [[position, short hash], ...] in position order


@contextmanager
def _locked(path: str):
    """The file opened for appending, under an exclusive lock: instances of one service on one
    machine take turns, so each line names the one truly before it."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield handle
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _last_line(handle) -> bytes | None:
    handle.seek(0, os.SEEK_END)
    end = handle.tell()
    if end == 0:
        return None
    chunk, start = b"", end
    while start > 0:
        step = min(65536, start)
        start -= step
        handle.seek(start)
        chunk = handle.read(step) + chunk
        cut = chunk.rstrip(b"\n").rfind(b"\n")
        if cut >= 0:
            return chunk[cut + 1:].rstrip(b"\n")
    return chunk.rstrip(b"\n")


def last_position(database: str) -> int:
    """The position the file's last line anchors (0 for none)."""
    with _locked(path_for(database)) as handle:
        last = _last_line(handle)
    return json.loads(last)["position"] if last else 0


def append(database: str, service: str, hashes_after, key: Ed25519PrivateKey | None = None) -> list[dict]:
    """Sign and append lines anchoring every chain link after the file's last one.

    `hashes_after(position)` gives the (position, hash) links of the chain after `position`, in
    order; it is called under the file's lock. Returns the lines written (none when the chain
    has not moved)."""
    key = key or signing_key()
    identity = key_id(key.public_key())
    written = []
    with _locked(path_for(database)) as handle:
        last = _last_line(handle)
        record = json.loads(last) if last else None
        previous_position = record["position"] if record else 0
        links = list(hashes_after(previous_position))
        for start in range(0, len(links), LINKS_PER_LINE):
            batch = links[start:start + LINKS_PER_LINE]
            record = {
                "format": FORMAT, "service": service, "seq": record["seq"] + 1 if record else 1,
                "previous": hashlib.sha256(last).hexdigest() if last else NO_LINE,
                "recorded_at": clock.now().isoformat(),
                "position": batch[-1][0], "hash": batch[-1][1],
                "links": [[position, hash_[:LINK_CHARS]] for position, hash_ in batch],
                "key": identity,
            }
            record["signature"] = base64.b64encode(key.sign(_signed_bytes(record))).decode("ascii")
            last = json.dumps(record, sort_keys=True, separators=(",", ":")).encode()
            handle.seek(0, os.SEEK_END)
            handle.write(last + b"\n")
            written.append(record)
        handle.flush()
        os.fsync(handle.fileno())
    return written


def read(database: str, public: Ed25519PublicKey | None = None) -> list[Anchor]:
    """Every line of the service's anchors file, each checked: its signature, its place after the
    line before (nothing removed, nothing altered) and its positions' order. Raises
    `AnchorFileDamaged` at the first line that fails."""
    path = path_for(database)
    try:
        handle = open(path, "rb")
    except FileNotFoundError:
        return []
    anchors: list[Anchor] = []
    with handle:
        raw_lines = [line.rstrip(b"\n") for line in handle]
    if not raw_lines:
        return []
    public = public or public_key()
    identity = key_id(public)
    previous_raw, previous_position = None, 0
    for number, raw in enumerate(raw_lines, start=1):
        try:
            record = json.loads(raw)
            first = record["links"][0][0] if record["links"] else None
            signature = base64.b64decode(record["signature"], validate=True)
        except (ValueError, KeyError, TypeError, IndexError):
            raise AnchorFileDamaged(number, "not an anchor (unreadable)") from None
        if record.get("key") != identity:
            raise AnchorFileDamaged(number, f"signed by another key ({record.get('key')}, not {identity})", first)
        try:
            public.verify(signature, _signed_bytes(record))
        except InvalidSignature:
            raise AnchorFileDamaged(number, "the signature does not match: a forged or altered anchor",
                                    first) from None
        expected_previous = hashlib.sha256(previous_raw).hexdigest() if previous_raw is not None else NO_LINE
        if record["seq"] != number:
            raise AnchorFileDamaged(number, f"it is anchor {record['seq']} of the file, so an anchor before it"
                                            " was removed or the lines reordered", first)
        if record["previous"] != expected_previous:
            raise AnchorFileDamaged(number, "the line before it is not the one it was written after:"
                                            " an anchor was replaced", first)
        positions = [position for position, _ in record["links"]]
        if not positions or positions != sorted(set(positions)) or positions[0] <= previous_position \
                or positions[-1] != record["position"] or record["hash"][:LINK_CHARS] != record["links"][-1][1]:
            raise AnchorFileDamaged(number, "its positions are out of order", first)
        anchors.append(Anchor(number, record["service"], record["position"], record["hash"],
                              record["recorded_at"], record["links"]))
        previous_raw, previous_position = raw, record["position"]
    return anchors


def verify_record(record: dict, public: Ed25519PublicKey) -> bool:
    """A copy of a line kept elsewhere (the anchors table) is the line its signature says."""
    try:
        public.verify(base64.b64decode(record["signature"]), _signed_bytes(record))
        return True
    except (InvalidSignature, KeyError, ValueError):
        return False
