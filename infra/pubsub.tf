resource "google_pubsub_topic" "topics" {
  for_each   = toset(local.m.topics)
  name       = each.value
  depends_on = [google_project_service.apis]
}

# Gmail's push service publishes to gmail-watch; functions publish sync requests; the
# Pub/Sub service agent forwards exhausted deliveries to the dead-letter topics.
resource "google_pubsub_topic_iam_member" "topics" {
  for_each   = { for b in local.m.topicRoles : "${b.resource} ${b.member} ${b.role}" => b }
  topic      = google_pubsub_topic.topics[each.value.resource].id
  role       = each.value.role
  member     = lookup(local.members, each.value.member, each.value.member)
  depends_on = [time_sleep.identities_propagate]
}

# One push subscription per Pub/Sub-driven function: an OIDC token that Cloud Run's IAM
# checks, bounded delivery attempts, then the function's dead-letter topic.
resource "google_pubsub_subscription" "push" {
  for_each                   = toset(keys(local.m.subscriptions))
  name                       = each.key
  topic                      = google_pubsub_topic.topics[local.m.subscriptions[each.key].topic].id
  ack_deadline_seconds       = local.m.subscriptions[each.key].ackDeadlineSeconds
  message_retention_duration = "86400s"

  push_config {
    # The path lets the Functions Framework name the topic in the CloudEvent it builds.
    push_endpoint = "${google_cloudfunctions2_function.functions[local.m.subscriptions[each.key].function].service_config[0].uri}/projects/${var.project_id}/topics/${local.m.subscriptions[each.key].topic}"
    oidc_token {
      service_account_email = google_service_account.accounts["pubsub-invoker"].email
      audience              = google_cloudfunctions2_function.functions[local.m.subscriptions[each.key].function].service_config[0].uri
    }
  }

  # Agrees with the functions' stale cut-off: the last attempt starts before a delivery is
  # old enough to be dropped (scripts/deploy/manifest.ts, PUSH_RETRY).
  retry_policy {
    minimum_backoff = "${local.m.subscriptions[each.key].minRetryDelaySeconds}s"
    maximum_backoff = "${local.m.subscriptions[each.key].maxRetryDelaySeconds}s"
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.topics[local.m.subscriptions[each.key].deadLetterTopic].id
    max_delivery_attempts = local.m.subscriptions[each.key].maxDeliveryAttempts
  }

  expiration_policy {
    ttl = ""
  }

  depends_on = [google_pubsub_topic_iam_member.topics, google_service_account_iam_member.account_users, google_cloud_run_service_iam_member.invokers]
}

resource "google_pubsub_subscription_iam_member" "subscriptions" {
  for_each     = { for b in local.m.subscriptionRoles : "${b.resource} ${b.member} ${b.role}" => b }
  subscription = google_pubsub_subscription.push[each.value.resource].name
  role         = each.value.role
  member       = lookup(local.members, each.value.member, each.value.member)
  depends_on   = [time_sleep.identities_propagate]
}

# Dead letters wait here for inspection and replay (7 days).
resource "google_pubsub_subscription" "dead_letter_inspection" {
  for_each                   = local.m.deadLetterInspection
  name                       = each.key
  topic                      = google_pubsub_topic.topics[each.value].id
  message_retention_duration = "604800s"
  expiration_policy {
    ttl = ""
  }
}
