output "calendar_push_url" {
  description = "Calendar channels POST here (set by registerWatch; shown for reference)."
  value       = "${local.function_base_url}/calendarPush"
}

output "connect_url" {
  description = "Private (IAM): the task app's backend calls /start and /disconnect here."
  value       = google_cloudfunctions2_function.functions["connect"].service_config[0].uri
}

output "oauth_redirect_uri" {
  description = "Add this as an authorized redirect URI of the OAuth client."
  value       = "${local.function_base_url}/connectCallback/callback"
}

output "source_status_url" {
  value = google_cloudfunctions2_function.functions["sourceStatus"].service_config[0].uri
}

output "gmail_topic" {
  value = google_pubsub_topic.topics["gmail-watch"].id
}
