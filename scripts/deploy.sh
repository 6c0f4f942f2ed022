#!/usr/bin/env bash
# Deploys the sync engine with gcloud: the same resources as infra/ (Terraform).
# Idempotent: existing resources are updated or left alone. --dry-run prints every command.
#
#   OAUTH_CLIENT_SECRET=… scripts/deploy.sh --project my-project --region us-central1 \
#     --oauth-client-id 123.apps.googleusercontent.com --connect-return-url https://tasks.example.com/settings [--dry-run]
set -euo pipefail

usage() { sed -n '2,8p' "$0"; exit 2; }

PROJECT="" REGION="us-central1" CLIENT_ID="" RETURN_URL="" DRY_RUN=0 FIRESTORE_LOCATION="nam5"
while [ $# -gt 0 ]; do
  case "$1" in
    --project) PROJECT="$2"; shift 2 ;;
    --region) REGION="$2"; shift 2 ;;
    --oauth-client-id) CLIENT_ID="$2"; shift 2 ;;
    --connect-return-url) RETURN_URL="$2"; shift 2 ;;
    --firestore-location) FIRESTORE_LOCATION="$2"; shift 2 ;;
    --dry-run) DRY_RUN=1; shift ;;
    -h|--help) usage ;;
    *) echo "unknown argument: $1" >&2; usage ;;
  esac
done
missing=()
[ -n "$PROJECT" ] || missing+=("--project")
[ -n "$CLIENT_ID" ] || missing+=("--oauth-client-id")
[ -n "$RETURN_URL" ] || missing+=("--connect-return-url")
[ "$DRY_RUN" = 1 ] || [ -n "${OAUTH_CLIENT_SECRET:-}" ] || missing+=("OAUTH_CLIENT_SECRET (environment)")
if [ ${#missing[@]} -gt 0 ]; then echo "missing: ${missing[*]}" >&2; usage; fi

run() {
  if [ "$DRY_RUN" = 1 ]; then printf '%s\n' "$*"; else "$@"; fi
}
# Creation that may already have happened: ignore "already exists", fail on anything else.
ensure() {
  if [ "$DRY_RUN" = 1 ]; then printf '%s\n' "$*"; return; fi
  local out
  if ! out=$("$@" 2>&1); then
    if grep -qiE 'already exists|ALREADY_EXISTS' <<<"$out"; then echo "  (exists) $*"; else echo "$out" >&2; return 1; fi
  fi
}

BASE_URL="https://${REGION}-${PROJECT}.cloudfunctions.net"
KEY="projects/${PROJECT}/locations/${REGION}/keyRings/sync-engine/cryptoKeys/refresh-tokens"
G="gcloud --project=${PROJECT} --quiet"

# name:trigger:service-account-role:public — the same list as functions/src/register.ts.
FUNCTIONS=(
  "gmailPush:topic=gmail-watch:sync:private"
  "syncWorker:topic=sync-requests:sync:private"
  "calendarPush:http:push:public"
  "registerWatch:http:sync:private"
  "renewWatches:http:jobs:private"
  "fallbackPoll:http:jobs:private"
  "pruneRetention:http:jobs:private"
  "auditCompleteness:http:jobs:private"
  "sourceStatus:http:status:private"
  "connect:http:sync:private"
  "connectCallback:http:sync:public"
)
SCHEDULES=("renewWatches|0 * * * *" "fallbackPoll|*/2 * * * *" "pruneRetention|30 3 * * *" "auditCompleteness|15 4 * * *")

echo "# 1. APIs"
run $G services enable cloudfunctions.googleapis.com run.googleapis.com cloudbuild.googleapis.com artifactregistry.googleapis.com \
  eventarc.googleapis.com pubsub.googleapis.com cloudscheduler.googleapis.com firestore.googleapis.com cloudkms.googleapis.com \
  secretmanager.googleapis.com gmail.googleapis.com calendar-json.googleapis.com logging.googleapis.com monitoring.googleapis.com

echo "# 2. Service accounts and their roles (no primitive roles)"
for role in sync push jobs status eventarc scheduler; do
  ensure $G iam service-accounts create "sync-engine-${role}" --display-name="Sync engine ${role}"
done
sa() { echo "sync-engine-$1@${PROJECT}.iam.gserviceaccount.com"; }
for role in sync push jobs; do
  run $G projects add-iam-policy-binding "$PROJECT" --member="serviceAccount:$(sa "$role")" --role=roles/datastore.user --condition=None
done
run $G projects add-iam-policy-binding "$PROJECT" --member="serviceAccount:$(sa status)" --role=roles/datastore.viewer --condition=None
run $G projects add-iam-policy-binding "$PROJECT" --member="serviceAccount:$(sa eventarc)" --role=roles/eventarc.eventReceiver --condition=None

echo "# 3. Topics; Gmail may publish to its topic"
ensure $G pubsub topics create gmail-watch
ensure $G pubsub topics create sync-requests
ensure $G pubsub topics create gmail-watch-dead-letter
ensure $G pubsub topics create sync-requests-dead-letter
run $G pubsub topics add-iam-policy-binding gmail-watch --member=serviceAccount:gmail-api-push@system.gserviceaccount.com --role=roles/pubsub.publisher
for role in sync push jobs; do
  run $G pubsub topics add-iam-policy-binding sync-requests --member="serviceAccount:$(sa "$role")" --role=roles/pubsub.publisher
done

echo "# 4. KMS key for refresh tokens; the OAuth client secret in Secret Manager"
ensure $G kms keyrings create sync-engine --location="$REGION"
ensure $G kms keys create refresh-tokens --keyring=sync-engine --location="$REGION" --purpose=encryption --rotation-period=90d --next-rotation-time=+P90D
run $G kms keys add-iam-policy-binding refresh-tokens --keyring=sync-engine --location="$REGION" --member="serviceAccount:$(sa sync)" --role=roles/cloudkms.cryptoKeyEncrypterDecrypter
ensure $G secrets create sync-engine-oauth-client-secret --replication-policy=automatic
if [ "$DRY_RUN" = 1 ]; then
  echo "$G secrets versions add sync-engine-oauth-client-secret --data-file=- <<< \"\$OAUTH_CLIENT_SECRET\""
else
  printf '%s' "$OAUTH_CLIENT_SECRET" | $G secrets versions add sync-engine-oauth-client-secret --data-file=-
fi
run $G secrets add-iam-policy-binding sync-engine-oauth-client-secret --member="serviceAccount:$(sa sync)" --role=roles/secretmanager.secretAccessor

echo "# 5. Firestore: database, TTL policy, indexes and rules"
ensure $G firestore databases create --location="$FIRESTORE_LOCATION"
run $G firestore fields ttls update expireAt --collection-group=ingestion_events --enable-ttl
run firebase deploy --only firestore --project "$PROJECT" --non-interactive

echo "# 6. Functions (from the built package: npm run build)"
run npm run build
ENV="GOOGLE_CLOUD_PROJECT=${PROJECT},OAUTH_CLIENT_ID=${CLIENT_ID},GMAIL_TOPIC=projects/${PROJECT}/topics/gmail-watch,SYNC_REQUESTS_TOPIC=sync-requests"
ENV="${ENV},CALENDAR_PUSH_URL=${BASE_URL}/calendarPush,CONNECT_REDIRECT_URL=${BASE_URL}/connectCallback/callback"
ENV="${ENV},CONNECT_RETURN_URL=${RETURN_URL},KMS_KEY_NAME=${KEY}"
for entry in "${FUNCTIONS[@]}"; do
  IFS=: read -r name trigger role access <<<"$entry"
  common=(--gen2 --runtime=nodejs20 --region="$REGION" --source=functions --entry-point="$name"
    --service-account="$(sa "$role")" --set-env-vars="$ENV"
    --set-secrets=OAUTH_CLIENT_SECRET=sync-engine-oauth-client-secret:latest --memory=512Mi)
  if [ "$trigger" = http ]; then
    if [ "$access" = public ]; then auth=--allow-unauthenticated; else auth=--no-allow-unauthenticated; fi
    run $G functions deploy "$name" "${common[@]}" --trigger-http "$auth" --timeout=120s
  else
    topic="${trigger#topic=}"
    run $G functions deploy "$name" "${common[@]}" --trigger-topic="$topic" --retry \
      --trigger-service-account="$(sa eventarc)" --timeout=300s
  fi
done

echo "# 7. Cloud Scheduler jobs (OIDC)"
for schedule in "${SCHEDULES[@]}"; do
  IFS='|' read -r name cron <<<"$schedule"
  run $G functions add-invoker-policy-binding "$name" --region="$REGION" --member="serviceAccount:$(sa scheduler)"
  ensure $G scheduler jobs create http "sync-engine-${name}" --location="$REGION" --schedule="$cron" --time-zone=Etc/UTC \
    --uri="${BASE_URL}/${name}" --http-method=POST --oidc-service-account-email="$(sa scheduler)" --oidc-token-audience="${BASE_URL}/${name}"
done

echo "# 8. Log-based metrics and the dashboard (alert policies: use Terraform, infra/monitoring.tf)"
ensure $G logging metrics create sync_engine/sync_runs --description="Sync runs by trigger" \
  --log-filter='jsonPayload.message=("gmail sync finished" OR "calendar sync finished")'
ensure $G logging metrics create sync_engine/sync_errors --description="Sync errors" \
  --log-filter='jsonPayload.message=("gmail sync failed" OR "calendar sync failed")'
ensure $G logging metrics create sync_engine/source_status_changes --description="Source status changes" \
  --log-filter='jsonPayload.message="source status changed"'
run $G monitoring dashboards create --config-from-file=infra/dashboards/sync-engine.json

echo "# Done. Add ${BASE_URL}/connectCallback/callback as an authorized redirect URI of the OAuth client."
