resource "google_cloud_scheduler_job" "jobs" {
  for_each  = local.schedules
  name      = "sync-engine-${each.key}"
  region    = var.region
  schedule  = each.value
  time_zone = "Etc/UTC"

  http_target {
    http_method = "POST"
    uri         = google_cloudfunctions2_function.http[each.key].service_config[0].uri
    oidc_token {
      service_account_email = google_service_account.invoker["scheduler"].email
      audience              = google_cloudfunctions2_function.http[each.key].service_config[0].uri
    }
  }

  retry_config {
    retry_count = 1
  }
}
