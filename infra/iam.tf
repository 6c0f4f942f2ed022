# The manifest's service accounts, each with only the roles its functions need (derived
# from the functions' descriptors). No primitive roles (owner, editor, viewer) anywhere.

resource "google_service_account" "accounts" {
  for_each     = local.m.accounts
  account_id   = "sync-engine-${each.key}"
  display_name = "Sync engine ${each.key}"
  description  = each.value
  depends_on   = [google_project_service.apis]
}

resource "google_project_iam_member" "accounts" {
  for_each = { for b in local.m.projectRoles : "${b.member} ${b.role}" => b }
  project  = var.project_id
  role     = each.value.role
  member   = lookup(local.members, each.value.member, each.value.member)
  # New accounts must be visible to IAM first.
  depends_on = [time_sleep.identities_propagate]
}

# The build account's roles reach Cloud Build and the sources bucket a while after the grant;
# twelve builds starting at once would otherwise fail on the bucket.
resource "time_sleep" "project_roles_propagate" {
  create_duration = "120s"
  triggers = {
    roles = join(",", sort(keys(google_project_iam_member.accounts)))
  }
}

# Acting as another account: the sync account creates Cloud Tasks that carry the
# tasks-invoker's OIDC token; Pub/Sub mints the push subscriptions' tokens.
resource "google_service_account_iam_member" "account_users" {
  for_each           = { for b in local.m.accountUsers : "${b.resource} ${b.member} ${b.role}" => b }
  service_account_id = google_service_account.accounts[each.value.resource].name
  role               = each.value.role
  member             = lookup(local.members, each.value.member, each.value.member)
  depends_on         = [time_sleep.identities_propagate]
}

resource "google_cloud_run_service_iam_member" "invokers" {
  for_each   = { for b in local.m.invokers : "${b.resource} ${b.member}" => b }
  location   = var.region
  service    = google_cloudfunctions2_function.functions[each.value.resource].service_config[0].service
  role       = each.value.role
  member     = lookup(local.members, each.value.member, each.value.member)
  depends_on = [time_sleep.identities_propagate]
}
