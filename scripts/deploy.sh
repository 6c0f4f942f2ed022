#!/usr/bin/env bash
# Deploys the sync engine with gcloud: the same resources as infra/ (Terraform), both planned
# from one manifest (scripts/deploy/manifest.ts). A second run changes nothing: every step
# looks first and acts only on what differs. --check reports what would stop a deployment
# (changing nothing); --dry-run prints every command. The OAuth client secret comes from the
# environment, never the command line:
#
#   read -rs OAUTH_CLIENT_SECRET && export OAUTH_CLIENT_SECRET
#   scripts/deploy.sh --project my-project --region us-central1 \
#     --oauth-client-id 123.apps.googleusercontent.com --connect-return-url https://tasks.example.com/settings \
#     [--firestore-location nam5] [--alert-email ops@example.com] [--firebase-project-id ID] [--firebase-api-key KEY] \
#     [--connect-server-callers a@p.iam.gserviceaccount.com,…] [--connect-allowed-origins https://your.app,…] [--check | --dry-run]
set -euo pipefail
cd "$(dirname "$0")/.."
# npm exec puts node_modules/.bin (Node 24, tsx, firebase-tools) first on PATH.
exec npm exec --silent -- tsx scripts/deploy/deploy.ts "$@"
