"""``basepod``: open the desktop app (or, inside a frozen build, run the bundled agent).

Start-up shows the window first and connects afterwards: nothing here waits on SSH,
keyring or the local agent before the first paint.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys


def _run_agent(argv: list[str]) -> int:
    """The frozen app has no ``python -m``; LocalAgent calls ``basepod --run-agent ...``."""
    from basepod_agent.main import main as agent_main

    return agent_main(argv)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--run-agent"]:
        return _run_agent(argv[1:])
    parser = argparse.ArgumentParser(prog="basepod", description="Basepod desktop app")
    parser.add_argument("--no-local-agent", action="store_true",
                        help="do not start the embedded 'This computer' agent")
    parser.add_argument("--quit-after-paint", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    import qasync
    from PySide6.QtWidgets import QApplication

    from basepod_desktop.app import BasepodApp

    qapp = QApplication.instance() or QApplication([sys.argv[0]])
    qapp.setApplicationName("Basepod")
    qapp.setDesktopFileName("basepod")
    qapp.setQuitOnLastWindowClosed(False)  # the tray may keep us alive; quit is explicit
    loop = qasync.QEventLoop(qapp)
    # Tasks made before the loop runs (app.start) must land on this loop, not a default one.
    asyncio.set_event_loop(loop)
    no_local = args.no_local_agent or os.environ.get("BASEPOD_NO_LOCAL_AGENT") == "1"
    with loop:
        app = BasepodApp(qapp, local_agent=False if no_local else None)
        if args.quit_after_paint:
            app.window.sig_first_paint.connect(app.quit)
        _quit_on_signals(app)
        app.start()
        loop.run_until_complete(app.wait_closed())
    return 0


def _quit_on_signals(app) -> None:
    """SIGTERM/SIGINT close the app properly (the local agent is stopped, not orphaned).

    Python runs signal handlers only between bytecodes, and Qt's loop runs in C++: a cheap
    timer gives the interpreter a chance to notice the signal.
    """
    import signal

    from PySide6.QtCore import QTimer

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: app.quit())
    app._signal_timer = QTimer()
    app._signal_timer.timeout.connect(lambda: None)
    app._signal_timer.start(250)


if __name__ == "__main__":
    sys.exit(main())
