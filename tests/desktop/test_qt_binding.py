"""The installed Qt binding does not leak references to None (PySide6 6.12.0 on 3.11 does).

That bug aborts a long-running app with "deallocating None"; pyproject pins PySide6 < 6.12
and this test keeps the pin honest.
"""

import sys

from PySide6.QtCore import QObject


def test_void_qt_calls_do_not_leak_references_to_none():
    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(1000):
        probe.setObjectName("probe")
    assert sys.getrefcount(None) >= before
