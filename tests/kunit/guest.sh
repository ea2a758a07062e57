#!/bin/bash
# guest.sh: (inside the debug-kernel VM, from tests/kunit/run.sh) the
# KUnit checks through prove, so CI counts them like every other suite.
cd "$(dirname "$0")/../.." || exit 1
exec prove --exec '' --failures --comments tests/kunit/kunit.t
