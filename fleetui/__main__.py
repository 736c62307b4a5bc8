from fleetui.cli import main

raise SystemExit(main())
