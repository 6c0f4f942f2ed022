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

provider "google" {
  project = var.project_id
  region  = var.region
}

# Only for google_project_service_identity (service agents), which is beta-only.
provider "google-beta" {
  project = var.project_id
  region  = var.region
}
