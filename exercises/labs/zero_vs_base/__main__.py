import sys

from exercises.labs.zero_vs_base.lab import main

sys.exit(main())
