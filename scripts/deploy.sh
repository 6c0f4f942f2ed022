#!/usr/bin/env bash
# Deploys the sync engine with gcloud: the same resources as infra/ (Terraform), both planned
# from one manifest (scripts/deploy/manifest.ts). Safe to re-run: existing resources are
# updated or left alone, unchanged functions are not rebuilt. --dry-run prints every command.
#
#   OAUTH_CLIENT_SECRET=… scripts/deploy.sh --project my-project --region us-central1 \
#     --oauth-client-id 123.apps.googleusercontent.com --connect-return-url https://tasks.example.com/settings \
#     [--firestore-location nam5] [--alert-email ops@example.com] [--dry-run]
set -euo pipefail
cd "$(dirname "$0")/.."
# npm exec puts node_modules/.bin (Node 24, tsx, firebase-tools) first on PATH.
exec npm exec --silent -- tsx scripts/deploy/deploy.ts "$@"
