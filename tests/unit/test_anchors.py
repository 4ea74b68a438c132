"""The anchors file on its own (no database): signed lines that verify with the public key only,
and each way of changing the file caught at the line it touches."""
import json
import os
import stat

import pytest

from shared import anchors, settings

pytestmark = pytest.mark.unit


@pytest.fixture
def here(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "_settings", settings.load({
        **os.environ, "INNOBASE_ANCHOR_KEY": str(tmp_path / "key.pem"), "INNOBASE_ANCHOR_DIR": str(tmp_path / "a")}))
    anchors.generate_key()
    return tmp_path


def chain_of(*positions):
    return [(p, f"{p:064x}") for p in positions]


def write(links_per_line):
    for links in links_per_line:
        anchors.append("db", "probe", lambda after, links=links: [link for link in links if link[0] > after])


def lines():
    with open(anchors.path_for("db")) as file:
        return [json.loads(line) for line in file]


def rewrite(records):
    with open(anchors.path_for("db"), "w") as out:
        for record in records:
            out.write(json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n")


def test_the_key_is_private_to_its_owner_and_never_replaced_by_accident(here):
    assert stat.S_IMODE(os.stat(here / "key.pem").st_mode) == 0o600
    with pytest.raises(FileExistsError):
        anchors.generate_key()
    assert (here / "key.pem.pub").read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")


def test_each_line_anchors_the_links_since_the_line_before_and_verifies_with_the_public_key_alone(here):
    write([chain_of(1, 2, 3), chain_of(1, 2, 3, 5, 8)])
    write([chain_of(1, 2, 3, 5, 8)])  # the chain has not moved: nothing written
    os.remove(here / "key.pem")  # a verifier elsewhere holds only the public key
    first, second = anchors.read("db")
    assert (first.position, first.links) == (3, [[p, f"{p:064x}"[:anchors.LINK_CHARS]] for p in (1, 2, 3)])
    assert (second.position, [p for p, _ in second.links], second.hash) == (8, [5, 8], f"{8:064x}")
    assert anchors.last_position("db") == 8


@pytest.mark.parametrize("change, problem", [
    (lambda records: records[1].update(hash="f" * 64), "line 2: the signature does not match"),
    (lambda records: records.pop(1), "line 2: it is anchor 3 of the file"),
    (lambda records: records.reverse(), "line 1: it is anchor 3 of the file"),
    (lambda records: records[2].update(previous="0" * 64), "line 3: the signature does not match"),
])
def test_a_changed_file_is_caught_at_the_line_it_touches(here, change, problem):
    write([chain_of(1), chain_of(1, 2), chain_of(1, 2, 3)])
    records = lines()
    change(records)
    rewrite(records)
    with pytest.raises(anchors.AnchorFileDamaged, match=problem):
        anchors.read("db")


def test_a_line_signed_with_another_key_is_caught(here, tmp_path):
    write([chain_of(1)])
    settings._settings = settings.load({**os.environ, "INNOBASE_ANCHOR_KEY": str(tmp_path / "other.pem"),
                                        "INNOBASE_ANCHOR_DIR": str(here / "a")})
    anchors.generate_key()
    with pytest.raises(anchors.AnchorFileDamaged, match="line 1: signed by another key"):
        anchors.read("db")


def test_a_line_replaced_by_another_validly_signed_one_is_caught(here):
    """The insider holds no key, but may hold other signed lines (of another service, say)."""
    write([chain_of(1), chain_of(1, 2)])
    anchors.append("other", "probe", lambda after: [link for link in chain_of(7, 9) if link[0] > after][:1])
    anchors.append("other", "probe", lambda after: [link for link in chain_of(7, 9) if link[0] > after])
    with open(anchors.path_for("other")) as file:
        borrowed = json.loads(file.readlines()[1])  # signed, and the second line of its own file
    first, _ = lines()
    rewrite([first, borrowed])
    with pytest.raises(anchors.AnchorFileDamaged, match="line 2: the line before it is not the one it was written after"):
        anchors.read("db")
