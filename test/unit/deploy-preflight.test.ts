import { judgeBilling, judgeDomainPolicy, judgeFirebaseAuth, judgeMemberPolicy, judgeRuntime, preflight, preflightCommands, type CommandResult, type PreflightDeps } from '../../scripts/deploy/preflight';
import { parseOptions } from '../../scripts/deploy/deploy';

/** scripts/deploy.sh --check: what it concludes from Google's recorded answers (it changes nothing). */

const ok = (stdout: string): CommandResult => ({ ok: true, stdout, stderr: '' });
const failed = (stderr: string): CommandResult => ({ ok: false, stdout: '', stderr });
const options = { ...parseOptions(['--check', '--project', 'demo-p', '--oauth-client-id', 'id', '--connect-return-url', 'https://x.example'], {}).options };

describe('deploy.sh --check', () => {
  it('needs no client secret, and reads the sign-in settings', () => {
    expect(parseOptions(['--check', '--project', 'p', '--oauth-client-id', 'i', '--connect-return-url', 'https://x', '--firebase-project-id', 'app'], {})).toMatchObject({ mode: 'check', options: { firebaseProjectId: 'app' } });
    expect(() => parseOptions(['--project', 'p', '--oauth-client-id', 'i', '--connect-return-url', 'https://x'], {})).toThrow(/OAUTH_CLIENT_SECRET \(environment\)[\s\S]*read -rs OAUTH_CLIENT_SECRET/);
  });

  it('reports billing, organisation policies, the runtime and Firebase Authentication', () => {
    expect(judgeBilling(ok('True\n')).verdict).toBe('ok');
    expect(judgeBilling(ok('False\n'))).toMatchObject({ verdict: 'problem', detail: expect.stringContaining('billing account') as string });
    expect(judgeDomainPolicy(ok('{}')).verdict).toBe('ok');
    expect(judgeDomainPolicy(ok(JSON.stringify({ listPolicy: { allValues: 'ALLOW' } }))).verdict).toBe('ok');
    expect(judgeDomainPolicy(ok(JSON.stringify({ listPolicy: { allowedValues: ['C0abc123'] } })))).toMatchObject({ verdict: 'problem', detail: expect.stringContaining('allUsers') as string });
    expect(judgeMemberPolicy(failed('NOT_FOUND: constraint not set')).verdict).toBe('ok');
    expect(judgeMemberPolicy(ok(JSON.stringify({ spec: { rules: [{ enforce: true, parameters: { allowedMemberSubjects: ['principalSet://goog/cloudIdentityCustomerId/C0abc'] } }] } }))).verdict).toBe('problem');
    const allowing = { spec: { rules: [{ enforce: true, parameters: { allowedMemberSubjects: ['allUsers', 'serviceAccount:gmail-api-push@system.gserviceaccount.com'] } }] } };
    expect(judgeMemberPolicy(ok(JSON.stringify(allowing))).verdict).toBe('ok');
    expect(judgeRuntime(ok('GA\n'), 'us-central1').verdict).toBe('ok');
    expect(judgeRuntime(ok(''), 'africa-south1')).toMatchObject({ verdict: 'problem', detail: expect.stringContaining('not offered') as string });
    expect(judgeRuntime(ok('BETA\n'), 'x').verdict).toBe('problem');
    expect(judgeFirebaseAuth(200, JSON.stringify({ signIn: { email: { enabled: true } } }), 'p').verdict).toBe('ok');
    expect(judgeFirebaseAuth(404, '{"error":{"message":"CONFIGURATION_NOT_FOUND"}}', 'p')).toMatchObject({ verdict: 'problem', detail: expect.stringContaining('--firebase-project-id') as string });
    expect(judgeFirebaseAuth(500, '', 'p').verdict).toBe('unknown');
  });

  it('asks the Firebase project given (with the quota project), prints the Testing reminder, and fails on a problem', async () => {
    const c = preflightCommands(options);
    const answers = new Map<string, CommandResult>([
      [c.billing.join(' '), ok('True')],
      [c.domains.join(' '), ok('{}')],
      [c.members.join(' '), failed('NOT_FOUND')],
      [c.runtime.join(' '), ok('GA')],
      [c.token.join(' '), ok('tok')],
    ]);
    const asked: { url: string; headers: Record<string, string> }[] = [];
    const deps: PreflightDeps = {
      gcloud: (argv) => answers.get(argv.join(' ')) ?? failed('unexpected command'),
      getJson: (url, headers) => {
        asked.push({ url, headers });
        return Promise.resolve({ status: 404, body: 'CONFIGURATION_NOT_FOUND' });
      },
    };
    const report = await preflight({ ...options, firebaseProjectId: 'app-prod' }, deps, 'http://identity.test');
    expect(asked).toEqual([{ url: 'http://identity.test/admin/v2/projects/app-prod/config', headers: { Authorization: 'Bearer tok', 'x-goog-user-project': 'demo-p' } }]);
    expect(report.ok).toBe(false);
    expect(report.text).toMatch(/PROBLEM {2}Firebase Authentication in app-prod/);
    expect(report.text).toContain('expire after 7 days');
    expect(report.findings.filter((f) => f.verdict === 'ok')).toHaveLength(4);
  });
});
