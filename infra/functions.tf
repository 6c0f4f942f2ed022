# Every function in the manifest as a gen2 HTTP function, all from the built functions/
# package (`npm run build` first: it bundles src/ into lib/index.js). The Pub/Sub-driven ones are
# called by our own push subscriptions (pubsub.tf), not by Eventarc.

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
  public_access_prevention    = "enforced"
  # A build copies the source; old archives are only history.
  lifecycle_rule {
    condition {
      age = 30
    }
    action {
      type = "Delete"
    }
  }
  depends_on = [google_project_service.apis]
}

resource "google_storage_bucket_object" "functions" {
  name   = "functions-${data.archive_file.functions.output_md5}.zip"
  bucket = google_storage_bucket.sources.name
  source = data.archive_file.functions.output_path
}

resource "google_cloudfunctions2_function" "functions" {
  for_each = toset(keys(local.m.functions))
  name     = each.key
  location = var.region

  build_config {
    runtime         = "nodejs24"
    entry_point     = each.key
    service_account = google_service_account.accounts["build"].id
    source {
      storage_source {
        bucket = google_storage_bucket.sources.name
        object = google_storage_bucket_object.functions.name
      }
    }
  }

  # Sizes and per-instance concurrency from the manifest (docs/performance.md, "Instance sizing").
  service_config {
    max_instance_count               = local.m.functions[each.key].maxInstances
    available_cpu                    = local.m.functions[each.key].cpu
    max_instance_request_concurrency = local.m.functions[each.key].concurrency
    available_memory                 = local.m.functions[each.key].memory
    timeout_seconds                  = local.m.functions[each.key].timeoutSeconds
    service_account_email            = google_service_account.accounts[local.m.functions[each.key].account].email
    environment_variables            = local.function_env[each.key]
    # Only the secrets this function reads, which its account may read.
    dynamic "secret_environment_variables" {
      for_each = local.m.functions[each.key].secrets
      content {
        key        = secret_environment_variables.key
        project_id = var.project_id
        secret     = google_secret_manager_secret.secrets[secret_environment_variables.value].secret_id
        version    = local.secret_versions[secret_environment_variables.value]
      }
    }
  }

  depends_on = [
    time_sleep.project_roles_propagate,
    google_secret_manager_secret_iam_member.readers,
    google_secret_manager_secret_version.oauth_client_secret,
    google_kms_crypto_key_iam_member.tokens,
  ]
}
