# NOT TESTED HERE (no Windows or Intune in this project's CI). Intune "Remediations" detection
# script: runs tlsdiag trust and check, keeps the JSON for collection, and reports "issue found"
# (exit 1) when a store lacks the inspection root or a target fails, so that the remediation
# script runs. Assumes tlsdiag was installed into its own venv, e.g. by a Win32 app:
#   py -3.11 -m venv "$env:ProgramData\tlsdiag\venv"
#   & "$env:ProgramData\tlsdiag\venv\Scripts\python.exe" -m pip install tlsdiag
# Run it in the user's context ("Run this script using the logged-on credentials: Yes"): the
# stores that matter (certifi, Node, Java, Firefox profiles) are the user's apps' stores.
$ErrorActionPreference = "Stop"
$Home_ = Join-Path $env:ProgramData "tlsdiag"
$Tlsdiag = Join-Path $Home_ "venv\Scripts\tlsdiag.exe"
$Results = Join-Path $env:LOCALAPPDATA "tlsdiag\results"
$Root = Join-Path $Home_ "inspection-root.pem"        # deployed with the app
$Targets = @("pypi.org", "github.com", "intranet.example.com")

New-Item -ItemType Directory -Force -Path $Results | Out-Null
& $Tlsdiag trust --ca $Root --json --output (Join-Path $Results "trust.json")
$trustRc = $LASTEXITCODE
& $Tlsdiag check @Targets --json --output (Join-Path $Results "check.json")
$checkRc = $LASTEXITCODE

# Intune shows the last line of output in the console: one summary line.
$trust = Get-Content (Join-Path $Results "trust.json") -Raw | ConvertFrom-Json
$lacking = @($trust | ForEach-Object { $_.stores } |
    Where-Object { $_.present -and $_.status -ne "trusted" -and $_.trusts_root -eq $false } |
    ForEach-Object { $_.id }) | Sort-Object -Unique
if ($trustRc -gt 1 -or $checkRc -gt 1) { Write-Output "tlsdiag could not run"; exit 1 }
if ($lacking.Count -gt 0 -or $checkRc -eq 1) {
    Write-Output ("lacking the root: " + ($lacking -join ", ") + "; check exit $checkRc")
    exit 1
}
Write-Output "every store trusts the root; every target works"
exit 0
