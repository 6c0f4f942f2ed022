output "calendar_push_url" {
  description = "Calendar channels POST here (set by registerWatch; shown for reference)."
  value       = "${local.function_base_url}/calendarPush"
}

# The cloudfunctions.net address: connectCallback is served from the same host (the
# browser-binding cookie), and it is the audience server callers' ID tokens must name.
output "connect_url" {
  description = "Public (each route verifies its caller): the task app calls /start, /confirm, /disconnect and /reconnect here."
  value       = "${local.function_base_url}/connect"
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
