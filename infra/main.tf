# Everything the engine needs in one project, read from the deployment manifest
# (manifest.json, generated from scripts/deploy/manifest.ts; scripts/deploy.sh plans from the
# same file). See README.md, "Deployment".

locals {
  m = jsondecode(file("${path.module}/manifest.json"))

  # Gen2 functions also answer on this deterministic address, which breaks the cycle of a
  # function's configuration naming its own URL.
  function_base_url = "https://${var.region}-${var.project_id}.cloudfunctions.net"

  placeholders = {
    "{project}"          = var.project_id
    "{region}"           = var.region
    "{oauthClientId}"    = var.oauth_client_id
    "{connectReturnUrl}" = var.connect_return_url
    "{functionsUrl}"     = local.function_base_url
  }
  function_env = {
    for name in keys(local.m.functions) : name => {
      for key, value in merge(local.m.env, local.m.functions[name].env) :
      key => replace(replace(replace(replace(replace(value,
        "{project}", local.placeholders["{project}"]),
        "{region}", local.placeholders["{region}"]),
        "{oauthClientId}", local.placeholders["{oauthClientId}"]),
        "{connectReturnUrl}", local.placeholders["{connectReturnUrl}"]),
      "{functionsUrl}", local.placeholders["{functionsUrl}"])
    }
  }

  # Manifest members (`account:sync`, `agent:pubsub`) as IAM members; literals pass through.
  members = merge(
    { for key, account in google_service_account.accounts : "account:${key}" => account.member },
    { for key, agent in google_project_service_identity.agents : "agent:${key}" => agent.member },
  )
}

# APIs first: every other resource waits for them (iam.googleapis.com included).
resource "google_project_service" "apis" {
  for_each           = toset(local.m.apis)
  service            = each.value
  disable_on_destroy = false
}

# Service agents exist before anything is granted to them (dead letters, OIDC push).
resource "google_project_service_identity" "agents" {
  provider   = google-beta
  for_each   = local.m.serviceAgents
  service    = each.value
  depends_on = [google_project_service.apis]
}
