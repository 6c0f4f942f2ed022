resource "google_firestore_database" "default" {
  name        = "(default)"
  location_id = var.firestore_location
  type        = "FIRESTORE_NATIVE"
  depends_on  = [google_project_service.apis]
}

# TTL policies: ingestion events (pruneRetention is the backstop), connect states, audits.
resource "google_firestore_field" "ttl" {
  for_each   = { for t in local.m.ttl : "${t.collection}.${t.field}" => t }
  database   = google_firestore_database.default.name
  collection = each.value.collection
  field      = each.value.field
  ttl_config {}
  index_config {
    indexes {
      order       = "ASCENDING"
      query_scope = "COLLECTION"
    }
    indexes {
      order       = "DESCENDING"
      query_scope = "COLLECTION"
    }
  }
}

# Security rules: the same firestore.rules that the gcloud path deploys with firebase-tools.
resource "google_firebaserules_ruleset" "firestore" {
  source {
    files {
      name    = "firestore.rules"
      content = file("${path.module}/../firestore.rules")
    }
  }
  depends_on = [google_firestore_database.default]
  lifecycle {
    create_before_destroy = true
  }
}

# A new ruleset updates the release in place (ruleset_name is updatable): the release is
# never deleted, so the database is never without rules; the old ruleset goes afterwards.
resource "google_firebaserules_release" "firestore" {
  name         = "cloud.firestore"
  ruleset_name = "projects/${var.project_id}/rulesets/${google_firebaserules_ruleset.firestore.name}"
}

# The composite indexes the engine's queries need; the same set as firestore.indexes.json.
resource "google_firestore_index" "sources_status_watch_expiration" {
  database   = google_firestore_database.default.name
  collection = "sources"
  fields {
    field_path = "status"
    order      = "ASCENDING"
  }
  fields {
    field_path = "watchExpiration"
    order      = "ASCENDING"
  }
}

resource "google_firestore_index" "sources_status_channel_expiration" {
  database   = google_firestore_database.default.name
  collection = "sources"
  fields {
    field_path = "status"
    order      = "ASCENDING"
  }
  fields {
    field_path = "calendarChannelExpiration"
    order      = "ASCENDING"
  }
}

resource "google_firestore_index" "sources_status_other_calendars_renew_by" {
  database   = google_firestore_database.default.name
  collection = "sources"
  fields {
    field_path = "status"
    order      = "ASCENDING"
  }
  fields {
    field_path = "otherCalendarsRenewBy"
    order      = "ASCENDING"
  }
}

resource "google_firestore_index" "sources_status_last_check" {
  database   = google_firestore_database.default.name
  collection = "sources"
  fields {
    field_path = "status"
    order      = "ASCENDING"
  }
  fields {
    field_path = "lastCheckAt"
    order      = "ASCENDING"
  }
}

resource "google_firestore_index" "sources_status_calendars_checked" {
  database   = google_firestore_database.default.name
  collection = "sources"
  fields {
    field_path = "status"
    order      = "ASCENDING"
  }
  fields {
    field_path = "calendarsCheckedBy"
    order      = "ASCENDING"
  }
}

resource "google_firestore_index" "sources_status_lease_until" {
  database   = google_firestore_database.default.name
  collection = "sources"
  fields {
    field_path = "status"
    order      = "ASCENDING"
  }
  fields {
    field_path = "lease.until"
    order      = "ASCENDING"
  }
}

resource "google_firestore_index" "tasks_source_origin_status" {
  database   = google_firestore_database.default.name
  collection = "tasks"
  fields {
    field_path = "sourceId"
    order      = "ASCENDING"
  }
  fields {
    field_path = "origin"
    order      = "ASCENDING"
  }
  fields {
    field_path = "status"
    order      = "ASCENDING"
  }
}

resource "google_firestore_index" "ingestion_events_source_expire" {
  database   = google_firestore_database.default.name
  collection = "ingestion_events"
  fields {
    field_path = "sourceId"
    order      = "ASCENDING"
  }
  fields {
    field_path = "expireAt"
    order      = "DESCENDING"
  }
}

# The completeness audit (auditCompleteness): due sources, the window's open tasks, a source's records.
resource "google_firestore_index" "sources_status_last_audit" {
  database   = google_firestore_database.default.name
  collection = "sources"
  fields {
    field_path = "status"
    order      = "ASCENDING"
  }
  fields {
    field_path = "lastAuditAt"
    order      = "ASCENDING"
  }
}

resource "google_firestore_index" "tasks_source_origin_status_updated" {
  database   = google_firestore_database.default.name
  collection = "tasks"
  fields {
    field_path = "sourceId"
    order      = "ASCENDING"
  }
  fields {
    field_path = "origin"
    order      = "ASCENDING"
  }
  fields {
    field_path = "status"
    order      = "ASCENDING"
  }
  fields {
    field_path = "updatedAt"
    order      = "ASCENDING"
  }
}

resource "google_firestore_index" "audits_source_started" {
  database   = google_firestore_database.default.name
  collection = "audits"
  fields {
    field_path = "sourceId"
    order      = "ASCENDING"
  }
  fields {
    field_path = "startedAt"
    order      = "DESCENDING"
  }
}
