# Everything the engine needs in one project: APIs, topics, functions, schedules, Firestore,
# the KMS key for refresh tokens, and monitoring. See README.md, "Deployment".

locals {
  apis = [
    "cloudfunctions.googleapis.com",
    "run.googleapis.com",
    "cloudbuild.googleapis.com",
    "artifactregistry.googleapis.com",
    "eventarc.googleapis.com",
    "pubsub.googleapis.com",
    "cloudscheduler.googleapis.com",
    "firestore.googleapis.com",
    "cloudkms.googleapis.com",
    "secretmanager.googleapis.com",
    "gmail.googleapis.com",
    "calendar-json.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
  ]

  # Gen2 functions answer on this deterministic address too, which breaks the cycle of a
  # function's configuration naming its own URL.
  function_base_url = "https://${var.region}-${var.project_id}.cloudfunctions.net"

  # Every function the package registers (functions/src/register.ts), its trigger and the
  # runtime service account it runs as.
  functions = {
    gmailPush       = { trigger = "event", topic = "gmail-watch", sa = "sync", public = false }
    syncWorker      = { trigger = "event", topic = "sync-requests", sa = "sync", public = false }
    calendarPush    = { trigger = "http", topic = null, sa = "push", public = true }
    registerWatch   = { trigger = "http", topic = null, sa = "sync", public = false }
    renewWatches    = { trigger = "http", topic = null, sa = "jobs", public = false }
    fallbackPoll    = { trigger = "http", topic = null, sa = "jobs", public = false }
    pruneRetention  = { trigger = "http", topic = null, sa = "jobs", public = false }
    auditCompleteness = { trigger = "http", topic = null, sa = "jobs", public = false }
    sourceStatus    = { trigger = "http", topic = null, sa = "status", public = false }
    connect         = { trigger = "http", topic = null, sa = "sync", public = false }
    connectCallback = { trigger = "http", topic = null, sa = "sync", public = true }
  }

  schedules = {
    renewWatches   = "0 * * * *"
    fallbackPoll   = "*/2 * * * *"
    pruneRetention = "30 3 * * *"
    auditCompleteness = "15 4 * * *"
  }

  function_env = {
    GOOGLE_CLOUD_PROJECT = var.project_id
    OAUTH_CLIENT_ID      = var.oauth_client_id
    GMAIL_TOPIC          = google_pubsub_topic.gmail_watch.id
    SYNC_REQUESTS_TOPIC  = google_pubsub_topic.sync_requests.name
    CALENDAR_PUSH_URL    = "${local.function_base_url}/calendarPush"
    CONNECT_REDIRECT_URL = "${local.function_base_url}/connectCallback/callback"
    CONNECT_RETURN_URL   = var.connect_return_url
    KMS_KEY_NAME         = google_kms_crypto_key.refresh_tokens.id
  }
}

resource "google_project_service" "apis" {
  for_each           = toset(local.apis)
  service            = each.value
  disable_on_destroy = false
}
