from basepod_agent.main import main

raise SystemExit(main())
