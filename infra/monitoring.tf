# Log-based metrics, the dashboard and alert policies, all from the manifest
# (scripts/deploy/monitoring.ts).

resource "google_logging_metric" "metrics" {
  for_each         = local.m.metrics
  name             = each.key
  description      = each.value.description
  filter           = each.value.filter
  value_extractor  = try(each.value.valueExtractor, null)
  label_extractors = try(each.value.labelExtractors, null)

  metric_descriptor {
    metric_kind = each.value.metricDescriptor.metricKind
    value_type  = each.value.metricDescriptor.valueType
    unit        = each.value.metricDescriptor.unit
    dynamic "labels" {
      for_each = each.value.metricDescriptor.labels
      content {
        key        = labels.value.key
        value_type = labels.value.valueType
      }
    }
  }

  dynamic "bucket_options" {
    for_each = try([each.value.bucketOptions.exponentialBuckets], [])
    content {
      exponential_buckets {
        num_finite_buckets = bucket_options.value.numFiniteBuckets
        growth_factor      = bucket_options.value.growthFactor
        scale              = bucket_options.value.scale
      }
    }
  }

  depends_on = [google_project_service.apis]
}

# A new log-based metric takes up to ~10 minutes before alert policies may refer to it.
resource "time_sleep" "metrics_propagate" {
  create_duration = "600s"
  triggers = {
    metrics = join(",", sort(keys(local.m.metrics)))
  }
  depends_on = [google_logging_metric.metrics]
}

resource "google_monitoring_dashboard" "sync_engine" {
  dashboard_json = file("${path.module}/dashboards/sync-engine.json")
  depends_on     = [google_logging_metric.metrics]
}

resource "google_monitoring_notification_channel" "email" {
  count        = var.alert_email == "" ? 0 : 1
  display_name = "Sync engine alerts"
  type         = "email"
  labels = {
    email_address = var.alert_email
  }
  depends_on = [google_project_service.apis]
}

resource "google_monitoring_alert_policy" "alerts" {
  for_each              = local.m.alerts
  display_name          = each.value.displayName
  combiner              = each.value.combiner
  notification_channels = google_monitoring_notification_channel.email[*].id

  documentation {
    content   = each.value.documentation.content
    mime_type = each.value.documentation.mimeType
  }

  dynamic "conditions" {
    for_each = each.value.conditions
    content {
      display_name = conditions.value.displayName

      dynamic "condition_threshold" {
        for_each = try([conditions.value.conditionThreshold], [])
        content {
          filter          = condition_threshold.value.filter
          comparison      = condition_threshold.value.comparison
          threshold_value = condition_threshold.value.thresholdValue
          duration        = condition_threshold.value.duration
          dynamic "aggregations" {
            for_each = condition_threshold.value.aggregations
            content {
              alignment_period     = aggregations.value.alignmentPeriod
              per_series_aligner   = aggregations.value.perSeriesAligner
              cross_series_reducer = aggregations.value.crossSeriesReducer
            }
          }
        }
      }

      dynamic "condition_absent" {
        for_each = try([conditions.value.conditionAbsent], [])
        content {
          filter   = condition_absent.value.filter
          duration = condition_absent.value.duration
          dynamic "aggregations" {
            for_each = condition_absent.value.aggregations
            content {
              alignment_period     = aggregations.value.alignmentPeriod
              per_series_aligner   = aggregations.value.perSeriesAligner
              cross_series_reducer = aggregations.value.crossSeriesReducer
            }
          }
        }
      }
    }
  }

  depends_on = [time_sleep.metrics_propagate]
}
