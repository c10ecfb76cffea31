import sys

from exercises.labs.kl_term.lab import main

sys.exit(main())
