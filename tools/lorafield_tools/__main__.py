import sys

from lorafield_tools.cli import main

sys.exit(main())
