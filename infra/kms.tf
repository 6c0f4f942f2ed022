resource "google_kms_key_ring" "sync_engine" {
  name     = "sync-engine"
  location = var.region
}

# Seals the per-source data keys that encrypt refresh tokens (envelope encryption).
resource "google_kms_crypto_key" "refresh_tokens" {
  name            = "refresh-tokens"
  key_ring        = google_kms_key_ring.sync_engine.id
  rotation_period = "7776000s"
  lifecycle {
    prevent_destroy = true
  }
}
