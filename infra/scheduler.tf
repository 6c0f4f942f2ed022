resource "google_cloud_scheduler_job" "jobs" {
  for_each  = local.m.schedules
  name      = "sync-engine-${each.key}"
  region    = var.region
  schedule  = each.value.schedule
  time_zone = "Etc/UTC"
  # An attempt may take as long as the function's timeout (Scheduler's default is 180 s).
  attempt_deadline = "${each.value.attemptDeadlineSeconds}s"

  http_target {
    http_method = "POST"
    uri         = google_cloudfunctions2_function.functions[each.value.function].service_config[0].uri
    oidc_token {
      service_account_email = google_service_account.accounts["scheduler"].email
      audience              = google_cloudfunctions2_function.functions[each.value.function].service_config[0].uri
    }
  }

  retry_config {
    retry_count = 1
  }

  # The jobs' queries need the composite indexes: the provider returns once each is built.
  depends_on = [
    google_cloud_run_service_iam_member.invokers,
    google_firestore_index.sources_status_watch_expiration,
    google_firestore_index.sources_status_channel_expiration,
    google_firestore_index.sources_status_other_calendars_renew_by,
    google_firestore_index.sources_status_last_check,
    google_firestore_index.sources_status_calendars_checked,
    google_firestore_index.sources_status_lease_until,
    google_firestore_index.tasks_source_origin_status,
    google_firestore_index.ingestion_events_source_expire,
    google_firestore_index.sources_status_last_audit,
    google_firestore_index.tasks_source_origin_status_updated,
    google_firestore_index.audits_source_started,
  ]
}

# Cloud Tasks: gmailFollowUp's delayed looks after a burst (OIDC as tasks-invoker).
resource "google_cloud_tasks_queue" "queues" {
  for_each = local.m.queues
  name     = each.key
  location = var.region
  rate_limits {
    max_dispatches_per_second = each.value.maxDispatchesPerSecond
    max_concurrent_dispatches = each.value.maxConcurrentDispatches
  }
  retry_config {
    max_attempts = each.value.maxAttempts
  }
  depends_on = [google_project_service.apis]
}

resource "google_cloud_tasks_queue_iam_member" "queues" {
  for_each   = { for b in local.m.queueRoles : "${b.resource} ${b.member} ${b.role}" => b }
  name       = google_cloud_tasks_queue.queues[each.value.resource].name
  location   = var.region
  role       = each.value.role
  member     = lookup(local.members, each.value.member, each.value.member)
  depends_on = [time_sleep.identities_propagate]
}
