#!/bin/sh
# NOT TESTED HERE (no macOS or Jamf Pro in this project's CI). Jamf Pro extension attribute:
# runs tlsdiag trust for the inspection root and reports the stores that lack it as
# <result>...</result> (an inventory field to build smart groups on: "tlsdiag lacking is not
# none"). The JSON stays in /Library/Application Support/tlsdiag/results for collection (a
# policy can upload it, or `jamf` can run `tlsdiag fleet report` on a share).
# Assumes tlsdiag in its own venv, installed by a policy:
#   /usr/bin/python3 -m venv "/Library/Application Support/tlsdiag/venv"
#   "/Library/Application Support/tlsdiag/venv/bin/pip" install tlsdiag
# Extension attributes run as root: run trust as the console user so that the user's stores
# (login keychain, Firefox profile, certifi in their tools) are the ones audited.
HOME_DIR="/Library/Application Support/tlsdiag"
TLSDIAG="$HOME_DIR/venv/bin/tlsdiag"
ROOT_PEM="$HOME_DIR/inspection-root.pem"
RESULTS="$HOME_DIR/results"
USER_NAME=$(/usr/bin/stat -f %Su /dev/console)

if [ ! -x "$TLSDIAG" ]; then echo "<result>not installed</result>"; exit 0; fi
mkdir -p "$RESULTS"
/usr/bin/sudo -u "$USER_NAME" -H "$TLSDIAG" trust --ca "$ROOT_PEM" --json > "$RESULTS/trust.json.tmp"
mv "$RESULTS/trust.json.tmp" "$RESULTS/trust.json"
LACKING=$(/usr/bin/python3 - "$RESULTS/trust.json" <<'PY'
import json, sys
reports = json.load(open(sys.argv[1]))
reports = reports if isinstance(reports, list) else [reports]
bad = sorted({s["id"] for r in reports for s in r.get("stores", [])
              if s.get("present") and s.get("trusts_root") is False})
print(", ".join(bad) or "none")
PY
)
echo "<result>$LACKING</result>"
