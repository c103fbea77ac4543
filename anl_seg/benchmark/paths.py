"""Repository paths the benchmark reads (configs, presets)."""
from pathlib import Path

# anl_seg is installed in develop mode from the repository.
REPO_ROOT = Path(__file__).resolve().parents[2]


def resolve_path(path):
    """``path`` from the current directory if it exists there, else from
    the repository root (as a string)."""
    path = Path(path).expanduser()
    if path.is_absolute() or path.exists():
        return str(path)
    in_repo = REPO_ROOT / path
    return str(in_repo if in_repo.exists() else path)
