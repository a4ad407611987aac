"""Where recordings are kept: <root>/<user_id>/<call_id>.wav, written atomically, never outside the root."""

import uuid

from engine.lifecycle.recording_store import RecordingStore


def test_a_recording_is_kept_per_user_and_named_relative_to_the_root(tmp_path):
    store = RecordingStore(tmp_path / "recordings")
    call_id = uuid.uuid4()
    name = store.save(7, call_id, b"RIFF first")
    assert name == f"7/{call_id}.wav"
    assert (tmp_path / "recordings" / "7" / f"{call_id}.wav").read_bytes() == b"RIFF first"
    assert store.save(7, call_id, b"RIFF again") == name  # a retry replaces it
    assert store.path_of(name).read_bytes() == b"RIFF again"
    assert [p.name for p in (tmp_path / "recordings" / "7").iterdir()] == [f"{call_id}.wav"]  # no temporary left
    assert store.remove(name) is True and store.path_of(name).exists() is False
    assert store.remove(name) is False


def test_names_that_leave_the_root_name_nothing(tmp_path):
    (tmp_path / "secret.txt").write_text("not a recording")
    store = RecordingStore(tmp_path / "recordings")
    for name in ("../secret.txt", "../../etc/passwd", "/etc/passwd", "", None, "."):
        assert store.path_of(name) is None, name
        assert store.remove(name) is False
    assert (tmp_path / "secret.txt").exists()
