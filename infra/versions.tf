terraform {
  # 1.11: write-only arguments (the OAuth client secret never enters the state).
  required_version = ">= 1.11"
  required_providers {
    google      = { source = "hashicorp/google", version = "~> 7.0" }
    google-beta = { source = "hashicorp/google-beta", version = "~> 7.0" }
    archive     = { source = "hashicorp/archive", version = "~> 2.7" }
    time        = { source = "hashicorp/time", version = "~> 0.13" }
  }
}

# User credentials (gcloud auth application-default login) need a quota project for some
# APIs (the Firebase rules API refuses calls without one): bill every call to this project.
provider "google" {
  project               = var.project_id
  region                = var.region
  user_project_override = true
  billing_project       = var.project_id
}

# Only for google_project_service_identity (service agents), which is beta-only.
provider "google-beta" {
  project               = var.project_id
  region                = var.region
  user_project_override = true
  billing_project       = var.project_id
}
