import sys

from exercises.labs.group_size.lab import main

sys.exit(main())
