"""Where a node keeps call recordings: `<data_dir>/recordings/<user_id>/<call_id>.wav`.

The call row names its file by the path relative to the root (`<user_id>/<call_id>.wav`),
so the data directory can move. Writes are atomic (a temporary file renamed into place),
and a name that would leave the root is refused, whatever the row says.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from uuid import UUID


class RecordingStore:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    @staticmethod
    def name_for(user_id: int, call_id: UUID | str) -> str:
        return f"{int(user_id)}/{UUID(str(call_id))}.wav"

    def path_of(self, name: str | None) -> Path | None:
        """The file a call row names, or None if it names nothing inside the root."""
        if not name:
            return None
        path = (self.root / name).resolve()
        return path if path.is_relative_to(self.root) and path != self.root else None

    def save(self, user_id: int, call_id: UUID | str, data: bytes) -> str:
        """Write the recording (replacing an earlier one) and return its name for the call row."""
        name = self.name_for(user_id, call_id)
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-", suffix=".wav")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return name

    def remove(self, name: str | None) -> bool:
        """Delete the file a call row names; False if there was none."""
        path = self.path_of(name)
        if path is None or not path.is_file():
            return False
        path.unlink()
        return True
