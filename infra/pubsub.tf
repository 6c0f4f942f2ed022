resource "google_pubsub_topic" "gmail_watch" {
  name = "gmail-watch"
}

# Gmail's push service publishes watch notifications to this topic.
resource "google_pubsub_topic_iam_member" "gmail_publisher" {
  topic  = google_pubsub_topic.gmail_watch.id
  role   = "roles/pubsub.publisher"
  member = "serviceAccount:gmail-api-push@system.gserviceaccount.com"
}

resource "google_pubsub_topic" "sync_requests" {
  name = "sync-requests"
}

# Where event deliveries go after repeated failures, for inspection and replay.
resource "google_pubsub_topic" "dead_letter" {
  for_each = toset(["gmail-watch", "sync-requests"])
  name     = "${each.value}-dead-letter"
}

resource "google_pubsub_subscription" "dead_letter_inspection" {
  for_each                   = google_pubsub_topic.dead_letter
  name                       = "${each.value.name}-inspect"
  topic                      = each.value.id
  message_retention_duration = "604800s"
}
