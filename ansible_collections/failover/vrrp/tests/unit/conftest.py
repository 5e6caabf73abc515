"""Make `ansible_collections.failover.vrrp` importable when pytest runs from the repo root.

ansible-test units puts the collection on sys.path itself; plain pytest (the repo's CI)
needs the folder that holds `ansible_collections/` on sys.path.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[5]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
