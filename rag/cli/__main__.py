from rag.cli.commands import main

raise SystemExit(main())
