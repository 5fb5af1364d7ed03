# NOT TESTED HERE (no Windows or Intune in this project's CI). Intune "Remediations" remediation
# script, paired with Detect-Tlsdiag.ps1. tlsdiag does not change trust stores itself: this
# script copies the detection results to a collection share (or uploads them to your log
# pipeline), where `tlsdiag fleet report` reads them. Add your own store fixes below, using the
# exact per-store commands `tlsdiag trust` prints (e.g. setting NODE_EXTRA_CA_CERTS or
# REQUESTS_CA_BUNDLE for the user).
$ErrorActionPreference = "Stop"
$Results = Join-Path $env:LOCALAPPDATA "tlsdiag\results"
$Share = "\\fileserver\tlsdiag-results"                # writable by the users, readable by you
$Dest = Join-Path $Share ("{0}-{1}" -f $env:COMPUTERNAME, $env:USERNAME)

New-Item -ItemType Directory -Force -Path $Dest | Out-Null
Copy-Item -Force (Join-Path $Results "*.json") $Dest
Write-Output "results copied to $Dest"
exit 0
