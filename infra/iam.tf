# One runtime service account per role, each with only the roles it needs. No primitive
# roles (owner, editor, viewer) anywhere.

locals {
  runtime_roles = {
    sync   = ["roles/datastore.user", "roles/logging.logWriter"]
    push   = ["roles/datastore.user", "roles/logging.logWriter"]
    jobs   = ["roles/datastore.user", "roles/logging.logWriter"]
    status = ["roles/datastore.viewer", "roles/logging.logWriter"]
  }
  runtime_bindings = flatten([
    for sa, roles in local.runtime_roles : [for role in roles : { sa = sa, role = role }]
  ])
}

resource "google_service_account" "runtime" {
  for_each     = local.runtime_roles
  account_id   = "sync-engine-${each.key}"
  display_name = "Sync engine (${each.key}) runtime"
}

resource "google_project_iam_member" "runtime" {
  for_each = { for b in local.runtime_bindings : "${b.sa}-${b.role}" => b }
  project  = var.project_id
  role     = each.value.role
  member   = "serviceAccount:${google_service_account.runtime[each.value.sa].email}"
}

# Publishing sync requests: the pushes, the jobs and the sync functions themselves.
resource "google_pubsub_topic_iam_member" "sync_request_publishers" {
  for_each = toset(["sync", "push", "jobs"])
  topic    = google_pubsub_topic.sync_requests.id
  role     = "roles/pubsub.publisher"
  member   = "serviceAccount:${google_service_account.runtime[each.value].email}"
}

# Only the sync role decrypts refresh tokens (and seals new ones at connect time).
resource "google_kms_crypto_key_iam_member" "sync_tokens" {
  crypto_key_id = google_kms_crypto_key.refresh_tokens.id
  role          = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
  member        = "serviceAccount:${google_service_account.runtime["sync"].email}"
}

resource "google_secret_manager_secret_iam_member" "oauth_secret_readers" {
  for_each  = toset(["sync"])
  secret_id = google_secret_manager_secret.oauth_client_secret.id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.runtime[each.value].email}"
}

# Identities that invoke functions: Eventarc (Pub/Sub triggers) and Cloud Scheduler (OIDC).
resource "google_service_account" "invoker" {
  for_each     = toset(["eventarc", "scheduler"])
  account_id   = "sync-engine-${each.key}"
  display_name = "Sync engine ${each.key} invoker"
}

resource "google_project_iam_member" "eventarc_receiver" {
  project = var.project_id
  role    = "roles/eventarc.eventReceiver"
  member  = "serviceAccount:${google_service_account.invoker["eventarc"].email}"
}

resource "google_cloud_run_service_iam_member" "event_invoker" {
  for_each = { for name, f in local.functions : name => f if f.trigger == "event" }
  location = var.region
  service  = google_cloudfunctions2_function.event[each.key].service_config[0].service
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.invoker["eventarc"].email}"
}

resource "google_cloud_run_service_iam_member" "scheduler_invoker" {
  for_each = local.schedules
  location = var.region
  service  = google_cloudfunctions2_function.http[each.key].service_config[0].service
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.invoker["scheduler"].email}"
}

# Google's servers call calendarPush (channel notifications) and users' browsers call
# connectCallback: both authenticate the request themselves (channel token, OAuth state).
resource "google_cloud_run_service_iam_member" "public" {
  for_each = { for name, f in local.functions : name => f if f.public }
  location = var.region
  service  = google_cloudfunctions2_function.http[each.key].service_config[0].service
  role     = "roles/run.invoker"
  member   = "allUsers"
}
