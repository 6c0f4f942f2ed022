resource "google_kms_key_ring" "sync_engine" {
  name       = "sync-engine"
  location   = var.region
  depends_on = [google_project_service.apis]
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

resource "google_kms_crypto_key_iam_member" "tokens" {
  for_each      = { for b in local.m.keyRoles : "${b.member} ${b.role}" => b }
  crypto_key_id = google_kms_crypto_key.refresh_tokens.id
  role          = each.value.role
  member        = lookup(local.members, each.value.member, each.value.member)
  depends_on    = [time_sleep.identities_propagate]
}

resource "google_secret_manager_secret" "secrets" {
  for_each  = toset(values(local.m.secrets))
  secret_id = each.value
  replication {
    auto {}
  }
  depends_on = [google_project_service.apis]
}

# Write-only: the value goes to Secret Manager and never into the Terraform state. Bump
# oauth_client_secret_version to store a new value: the new version is created first, the
# functions (pinned to a version, local.secret_versions) are redeployed onto it, and only
# then is the old version destroyed.
resource "google_secret_manager_secret_version" "oauth_client_secret" {
  secret                 = google_secret_manager_secret.secrets[local.m.secrets.OAUTH_CLIENT_SECRET].id
  secret_data_wo         = var.oauth_client_secret
  secret_data_wo_version = var.oauth_client_secret_version
  lifecycle {
    create_before_destroy = true
  }
}

resource "google_secret_manager_secret_iam_member" "readers" {
  for_each   = { for b in local.m.secretRoles : "${b.resource} ${b.member}" => b }
  secret_id  = google_secret_manager_secret.secrets[each.value.resource].id
  role       = each.value.role
  member     = lookup(local.members, each.value.member, each.value.member)
  depends_on = [time_sleep.identities_propagate]
}
