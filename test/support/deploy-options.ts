import type { DeployOptions } from '../../scripts/deploy/gcloud-plan';

/** deploy.sh's options for a project named demo-p, as the deployment tests use them. */
export function demoOptions(overrides: Partial<DeployOptions> = {}): DeployOptions {
  return {
    project: 'demo-p',
    region: 'us-central1',
    oauthClientId: 'id.apps.googleusercontent.com',
    connectReturnUrl: 'https://tasks.example.com',
    firestoreLocation: 'nam5',
    alertEmail: 'ops@example.com',
    firebaseProjectId: '',
    firebaseApiKey: '',
    connectServerCallers: '',
    connectAllowedOrigins: '',
    sourceHash: 'test',
    firestoreHash: 'f1e2d3c4b5a69788',
    ...overrides,
  };
}
