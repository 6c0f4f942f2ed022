variable "project_id" {
  type        = string
  description = "The Google Cloud project to deploy into."
}

variable "region" {
  type        = string
  default     = "us-central1"
  description = "Region for the functions, Scheduler jobs, KMS key ring and Firestore."
}

variable "oauth_client_id" {
  type        = string
  description = "OAuth client id (Web application) created on the consent screen page."
}

variable "oauth_client_secret" {
  type        = string
  sensitive   = true
  ephemeral   = true
  description = "OAuth client secret; stored in Secret Manager (write-only: never in state or function configuration)."
}

variable "oauth_client_secret_version" {
  type        = number
  default     = 1
  description = "Bump to store a new oauth_client_secret (write-only values are not compared)."
}

variable "connect_return_url" {
  type        = string
  description = "Where the connect callback sends the user when done (the task app)."
}

variable "firestore_location" {
  type        = string
  default     = "nam5"
  description = "Firestore database location."
}

variable "alert_email" {
  type        = string
  default     = ""
  description = "Notification e-mail for alert policies (empty: alerts without a channel)."
}

variable "firebase_project_id" {
  type        = string
  default     = ""
  description = "The Firebase project whose users sign in (your app's); empty: this project, where Firebase Authentication must then be enabled."
}

variable "firebase_api_key" {
  type        = string
  default     = ""
  description = "Web API key of that Firebase project (public by design): turns on the status page's sign-in."
}

variable "connect_server_callers" {
  type        = string
  default     = ""
  description = "Comma-separated service accounts that may call connect server-to-server (their ID tokens name connect_url)."
}

variable "connect_allowed_origins" {
  type        = string
  default     = ""
  description = "Comma-separated origins (https://your.app) that may start a connection from a browser."
}
