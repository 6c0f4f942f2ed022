import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertFails, assertSucceeds, initializeTestEnvironment, type RulesTestEnvironment } from '@firebase/rules-unit-testing';
import { doc, getDoc, getDocs, collection, setDoc, updateDoc, deleteDoc, query, where, setLogLevel } from 'firebase/firestore';

// Denials are the point of these tests; the SDK would log each one as an error.
setLogLevel('silent');

let env: RulesTestEnvironment;

beforeAll(async () => {
  const [host, port] = process.env.FIRESTORE_EMULATOR_HOST!.split(':');
  env = await initializeTestEnvironment({
    projectId: `demo-rules-${Date.now()}`,
    firestore: { host: host!, port: Number(port), rules: readFileSync(join(__dirname, '../../firestore.rules'), 'utf8') },
  });
  await env.withSecurityRulesDisabled(async (context) => {
    const db = context.firestore();
    await setDoc(doc(db, 'sources/ada-source'), { userId: 'ada', email: 'ada@example.com', status: 'active' });
    await setDoc(doc(db, 'sources/bob-source'), { userId: 'bob', email: 'bob@example.com', status: 'active' });
    await setDoc(doc(db, 'users/ada/tasks/ada-source:gmail:1'), { title: 'Ada task', status: 'open' });
    await setDoc(doc(db, 'users/bob/tasks/bob-source:gmail:1'), { title: 'Bob task', status: 'open' });
    await setDoc(doc(db, 'sourceSecrets/ada-source'), { refreshToken: { ciphertext: 'x' } });
    await setDoc(doc(db, 'channels/ch-1'), { sourceId: 'ada-source' });
    await setDoc(doc(db, 'ingestion_events/e1'), { sourceId: 'ada-source', userId: 'ada' });
    // A flow in progress and a staged grant (sealed token) of Ada's.
    await setDoc(doc(db, 'connectStates/s1'), { kind: 'state', userId: 'ada', codeVerifier: 'v' });
    await setDoc(doc(db, 'connectStates/l1'), { kind: 'link', userId: 'ada', email: 'ada@example.com' });
  });
});
afterAll(() => env.cleanup());

describe('firestore.rules', () => {
  it('lets a signed-in user read their own sources and tasks', async () => {
    const ada = env.authenticatedContext('ada').firestore();
    await assertSucceeds(getDoc(doc(ada, 'sources/ada-source')));
    await assertSucceeds(getDocs(query(collection(ada, 'sources'), where('userId', '==', 'ada'))));
    await assertSucceeds(getDoc(doc(ada, 'users/ada/tasks/ada-source:gmail:1')));
    await assertSucceeds(getDocs(collection(ada, 'users/ada/tasks')));
  });

  it("denies another user's sources and tasks", async () => {
    const ada = env.authenticatedContext('ada').firestore();
    await assertFails(getDoc(doc(ada, 'sources/bob-source')));
    await assertFails(getDocs(collection(ada, 'sources')));
    await assertFails(getDoc(doc(ada, 'users/bob/tasks/bob-source:gmail:1')));
    await assertFails(getDocs(collection(ada, 'users/bob/tasks')));
  });

  it('denies secrets, the channel index and ingestion events to everyone, even their owner', async () => {
    const ada = env.authenticatedContext('ada').firestore();
    await assertFails(getDoc(doc(ada, 'sourceSecrets/ada-source')));
    await assertFails(getDoc(doc(ada, 'channels/ch-1')));
    await assertFails(getDoc(doc(ada, 'ingestion_events/e1')));
    // Connect states hold PKCE verifiers and staged sealed grants: nobody reads or lists them.
    await assertFails(getDoc(doc(ada, 'connectStates/s1')));
    await assertFails(getDoc(doc(ada, 'connectStates/l1')));
    await assertFails(getDocs(collection(ada, 'connectStates')));
    await assertFails(setDoc(doc(ada, 'connectStates/forged'), { kind: 'link', userId: 'ada' }));
  });

  it('denies everything to a signed-out client', async () => {
    const anonymous = env.unauthenticatedContext().firestore();
    await assertFails(getDoc(doc(anonymous, 'sources/ada-source')));
    await assertFails(getDoc(doc(anonymous, 'users/ada/tasks/ada-source:gmail:1')));
  });

  it('denies every client write, including to their own documents', async () => {
    const ada = env.authenticatedContext('ada').firestore();
    await assertFails(setDoc(doc(ada, 'sources/new'), { userId: 'ada' }));
    await assertFails(updateDoc(doc(ada, 'sources/ada-source'), { status: 'active' }));
    await assertFails(deleteDoc(doc(ada, 'sources/ada-source')));
    await assertFails(setDoc(doc(ada, 'users/ada/tasks/new'), { title: 'mine' }));
    await assertFails(updateDoc(doc(ada, 'users/ada/tasks/ada-source:gmail:1'), { status: 'archived' }));
    await assertFails(deleteDoc(doc(ada, 'users/ada/tasks/ada-source:gmail:1')));
    await assertFails(setDoc(doc(ada, 'sourceSecrets/ada-source'), { refreshToken: null }));
    await assertFails(setDoc(doc(ada, 'channels/ch-2'), { sourceId: 'ada-source' }));
  });
});
