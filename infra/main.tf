# Everything the engine needs in one project, read from the deployment manifest
# (manifest.json, generated from scripts/deploy/manifest.ts; scripts/deploy.sh plans from the
# same file). See docs/deployment.md.

locals {
  m = jsondecode(file("${path.module}/manifest.json"))

  # Gen2 functions also answer on this deterministic address, which breaks the cycle of a
  # function's configuration naming its own URL.
  function_base_url = "https://${var.region}-${var.project_id}.cloudfunctions.net"

  placeholders = {
    "{project}"               = var.project_id
    "{projectNumber}"         = data.google_project.this.number
    "{region}"                = var.region
    "{oauthClientId}"         = var.oauth_client_id
    "{connectReturnUrl}"      = var.connect_return_url
    "{functionsUrl}"          = local.function_base_url
    "{firebaseProjectId}"     = var.firebase_project_id
    "{firebaseApiKey}"        = var.firebase_api_key
    "{connectServerCallers}"  = var.connect_server_callers
    "{connectAllowedOrigins}" = var.connect_allowed_origins
  }
  # Each value with every placeholder replaced (a regex on the placeholder syntax, one pass);
  # a variable whose value comes out empty is not set at all, as on the gcloud path.
  rendered_env = {
    for name in keys(local.m.functions) : name => {
      for key, value in merge(local.m.env, local.m.functions[name].env) :
      key => join("", [for part in regexall("\\{[A-Za-z]+\\}|[^{]+|\\{", value) : lookup(local.placeholders, part, part)])
    }
  }
  function_env = {
    for name, env in local.rendered_env : name => { for key, value in env : key => value if value != "" }
  }

  # Functions run on a pinned secret version: storing a new one changes their configuration,
  # so they are redeployed onto it (a warm instance keeps the value it started with).
  secret_versions = {
    (local.m.secrets.OAUTH_CLIENT_SECRET) = google_secret_manager_secret_version.oauth_client_secret.version
  }

  # Manifest members (`account:sync`, `agent:pubsub`) as IAM members; literals pass through.
  members = merge(
    { for key, account in google_service_account.accounts : "account:${key}" => account.member },
    { for key, agent in google_project_service_identity.agents : "agent:${key}" => agent.member },
  )
}

data "google_project" "this" {
  project_id = var.project_id
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

# A new service agent or account is not visible to IAM everywhere at once, and the provider
# does not retry a grant that names one: every grant waits this long after they appear.
resource "time_sleep" "identities_propagate" {
  create_duration = "90s"
  triggers = {
    accounts = join(",", sort([for a in google_service_account.accounts : a.email]))
    agents   = join(",", sort([for a in google_project_service_identity.agents : a.email]))
  }
}
