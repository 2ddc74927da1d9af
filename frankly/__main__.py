from frankly.cli import main

raise SystemExit(main())
