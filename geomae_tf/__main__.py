import sys

from geomae_tf.cli import main

sys.exit(main())
