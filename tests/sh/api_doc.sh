#!/usr/bin/env bash
# docs/API.md must be what scripts/gen-api-doc.py makes of the current headers.
set -euo pipefail
python3 "$LDNQ_SOURCE_DIR/scripts/gen-api-doc.py" --check
