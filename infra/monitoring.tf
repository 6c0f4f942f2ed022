# Log-based metrics read the functions' structured JSON logs (functions/src/logging.ts):
# `message`, `sourceId`, `type`, `trigger`, `counts`, `durationMs`, `errorClass`, `status`.

locals {
  sync_finished = "jsonPayload.message=(\"gmail sync finished\" OR \"calendar sync finished\")"
}

resource "google_logging_metric" "sync_latency" {
  name            = "sync_engine/sync_latency"
  filter          = local.sync_finished
  value_extractor = "EXTRACT(jsonPayload.durationMs)"
  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "DISTRIBUTION"
    unit        = "ms"
    labels {
      key = "type"
    }
    labels {
      key = "trigger"
    }
  }
  label_extractors = {
    type    = "EXTRACT(jsonPayload.type)"
    trigger = "EXTRACT(jsonPayload.trigger)"
  }
  bucket_options {
    exponential_buckets {
      num_finite_buckets = 32
      growth_factor      = 1.5
      scale              = 10
    }
  }
}

resource "google_logging_metric" "tasks_ingested" {
  name            = "sync_engine/tasks_ingested"
  filter          = "${local.sync_finished} AND jsonPayload.counts.tasksWritten>0"
  value_extractor = "EXTRACT(jsonPayload.counts.tasksWritten)"
  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "DISTRIBUTION"
    unit        = "1"
    labels {
      key = "type"
    }
  }
  label_extractors = {
    type = "EXTRACT(jsonPayload.type)"
  }
  bucket_options {
    exponential_buckets {
      num_finite_buckets = 16
      growth_factor      = 2
      scale              = 1
    }
  }
}

resource "google_logging_metric" "sync_runs" {
  name   = "sync_engine/sync_runs"
  filter = local.sync_finished
  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    labels {
      key = "trigger"
    }
  }
  label_extractors = {
    trigger = "EXTRACT(jsonPayload.trigger)"
  }
}

resource "google_logging_metric" "sync_errors" {
  name   = "sync_engine/sync_errors"
  filter = "jsonPayload.message=(\"gmail sync failed\" OR \"calendar sync failed\")"
  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    labels {
      key = "error_class"
    }
  }
  label_extractors = {
    error_class = "EXTRACT(jsonPayload.errorClass)"
  }
}

resource "google_logging_metric" "status_changes" {
  name   = "sync_engine/source_status_changes"
  filter = "jsonPayload.message=\"source status changed\""
  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    labels {
      key = "status"
    }
  }
  label_extractors = {
    status = "EXTRACT(jsonPayload.status)"
  }
}

resource "google_logging_metric" "renewals_due" {
  name            = "sync_engine/watches_expiring_24h"
  filter          = "jsonPayload.message=\"renewWatches fanned out\""
  value_extractor = "EXTRACT(jsonPayload.requested)"
  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "DISTRIBUTION"
    unit        = "1"
  }
  bucket_options {
    exponential_buckets {
      num_finite_buckets = 16
      growth_factor      = 2
      scale              = 1
    }
  }
}

resource "google_monitoring_dashboard" "sync_engine" {
  dashboard_json = file("${path.module}/dashboards/sync-engine.json")
  depends_on = [
    google_logging_metric.sync_latency,
    google_logging_metric.tasks_ingested,
    google_logging_metric.sync_runs,
    google_logging_metric.sync_errors,
    google_logging_metric.status_changes,
    google_logging_metric.renewals_due,
  ]
}

resource "google_monitoring_notification_channel" "email" {
  count        = var.alert_email == "" ? 0 : 1
  display_name = "Sync engine alerts"
  type         = "email"
  labels = {
    email_address = var.alert_email
  }
}

resource "google_monitoring_alert_policy" "sync_errors" {
  display_name          = "Sync engine: sync errors"
  combiner              = "OR"
  notification_channels = google_monitoring_notification_channel.email[*].id
  conditions {
    display_name = "more than 20 sync errors in 10 minutes"
    condition_threshold {
      filter          = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.sync_errors.name}\" AND resource.type=\"cloud_run_revision\""
      comparison      = "COMPARISON_GT"
      threshold_value = 20
      duration        = "0s"
      aggregations {
        alignment_period     = "600s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }
}

resource "google_monitoring_alert_policy" "no_syncs" {
  display_name          = "Sync engine: no syncs"
  combiner              = "OR"
  notification_channels = google_monitoring_notification_channel.email[*].id
  conditions {
    display_name = "no sync finished for 30 minutes"
    condition_absent {
      filter   = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.sync_runs.name}\" AND resource.type=\"cloud_run_revision\""
      duration = "1800s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }
}

resource "google_monitoring_alert_policy" "disconnections" {
  display_name          = "Sync engine: sources disconnected"
  combiner              = "OR"
  notification_channels = google_monitoring_notification_channel.email[*].id
  conditions {
    display_name = "a source became disconnected"
    condition_threshold {
      filter          = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.status_changes.name}\" AND metric.label.status=\"disconnected\" AND resource.type=\"cloud_run_revision\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }
}
