# One gen2 function per registered function, all from the built functions/ package
# (`npm run build` first: it compiles src/ to lib/).

data "archive_file" "functions" {
  type        = "zip"
  source_dir  = "${path.module}/../functions"
  output_path = "${path.module}/.build/functions.zip"
  excludes    = ["node_modules", "src", "tsconfig.build.json"]
}

resource "google_storage_bucket" "sources" {
  name                        = "${var.project_id}-sync-engine-sources"
  location                    = var.region
  uniform_bucket_level_access = true
}

resource "google_storage_bucket_object" "functions" {
  name   = "functions-${data.archive_file.functions.output_md5}.zip"
  bucket = google_storage_bucket.sources.name
  source = data.archive_file.functions.output_path
}

resource "google_cloudfunctions2_function" "event" {
  for_each = { for name, f in local.functions : name => f if f.trigger == "event" }
  name     = each.key
  location = var.region

  build_config {
    runtime     = "nodejs20"
    entry_point = each.key
    source {
      storage_source {
        bucket = google_storage_bucket.sources.name
        object = google_storage_bucket_object.functions.name
      }
    }
  }

  service_config {
    max_instance_count    = 100
    available_memory      = "512Mi"
    timeout_seconds       = 300
    service_account_email = google_service_account.runtime[each.value.sa].email
    environment_variables = local.function_env
    secret_environment_variables {
      key        = "OAUTH_CLIENT_SECRET"
      project_id = var.project_id
      secret     = google_secret_manager_secret.oauth_client_secret.secret_id
      version    = "latest"
    }
  }

  event_trigger {
    trigger_region        = var.region
    event_type            = "google.cloud.pubsub.topic.v1.messagePublished"
    pubsub_topic          = each.value.topic == "gmail-watch" ? google_pubsub_topic.gmail_watch.id : google_pubsub_topic.sync_requests.id
    retry_policy          = "RETRY_POLICY_RETRY"
    service_account_email = google_service_account.invoker["eventarc"].email
  }

  depends_on = [google_project_service.apis]
}

resource "google_cloudfunctions2_function" "http" {
  for_each = { for name, f in local.functions : name => f if f.trigger == "http" }
  name     = each.key
  location = var.region

  build_config {
    runtime     = "nodejs20"
    entry_point = each.key
    source {
      storage_source {
        bucket = google_storage_bucket.sources.name
        object = google_storage_bucket_object.functions.name
      }
    }
  }

  service_config {
    max_instance_count    = 50
    available_memory      = "512Mi"
    timeout_seconds       = 120
    service_account_email = google_service_account.runtime[each.value.sa].email
    environment_variables = local.function_env
    secret_environment_variables {
      key        = "OAUTH_CLIENT_SECRET"
      project_id = var.project_id
      secret     = google_secret_manager_secret.oauth_client_secret.secret_id
      version    = "latest"
    }
  }

  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret" "oauth_client_secret" {
  secret_id = "sync-engine-oauth-client-secret"
  replication {
    auto {}
  }
}

resource "google_secret_manager_secret_version" "oauth_client_secret" {
  secret      = google_secret_manager_secret.oauth_client_secret.id
  secret_data = var.oauth_client_secret
}
