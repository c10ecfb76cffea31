import sys

from exercises.labs.clipping.lab import main

sys.exit(main())
