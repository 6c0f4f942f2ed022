/// <reference lib="dom" />
/**
 * The example host app: everything it does goes through `@push-sync/client` and the Firebase
 * client SDK. Sign in (Firebase Auth), connect a Google account (the connect flow), then a
 * live task list and a badge per source, with the polling banner and a reconnect prompt.
 * Every value goes in as text, never as markup.
 */
import { initializeApp } from 'firebase/app';
import { connectAuthEmulator, getAuth, onAuthStateChanged, signInWithEmailAndPassword, type User } from 'firebase/auth';
import { connectFirestoreEmulator, getFirestore } from 'firebase/firestore';
import { ConnectClient, connectOutcome } from '../src/connect';
import { liveSourceStatus, liveTasks, type LiveSourceStatus, type LiveTask } from '../src/live';

/** What the page is served with (a JSON block, never spliced into the script). */
interface HostPageSettings {
  firebase: { apiKey: string; projectId: string; authDomain?: string };
  /** Local runs: the Auth and Firestore emulators (`127.0.0.1:port`). */
  emulators: { auth: string; firestore: string } | null;
  connectUrl: string;
}

const LABELS = { active: 'Active', degraded: 'Degraded', disconnected: 'Disconnected' } as const;

const byId = (id: string) => document.getElementById(id)!;
const field = (form: HTMLFormElement, name: string) => (form.elements.namedItem(name) as HTMLInputElement).value;
function el(tag: string, className: string, text?: string): HTMLElement {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function sourceItem(source: LiveSourceStatus, reconnect: (email: string) => void): HTMLElement {
  const item = el('li', 'source');
  item.dataset.sourceId = source.sourceId;
  const badge = el('span', `badge ${source.status}`, LABELS[source.status]);
  badge.dataset.status = source.status;
  item.append(badge, ' ', el('span', 'email', source.email));
  if (source.reason !== null) item.append(' ', el('span', 'reason', source.reason));
  if (source.status === 'disconnected') {
    const prompt = el('div', 'reconnect');
    prompt.setAttribute('role', 'alert');
    const button = el('button', '', 'Reconnect');
    button.addEventListener('click', () => reconnect(source.email));
    prompt.append(el('span', '', `Reconnect ${source.email}: this app no longer sees its mail and calendar.`), ' ', button);
    item.append(prompt);
  }
  return item;
}

function renderSources(sources: LiveSourceStatus[], reconnect: (email: string) => void): void {
  const polling = sources.filter((s) => s.polling).map((s) => s.email);
  const banner = polling.length === 0 ? [] : [el('div', 'banner', `Falling back to polling for ${polling.join(', ')}: changes may take a few minutes to appear.`)];
  byId('banner').replaceChildren(...banner);
  const list = el('ul', 'sources');
  list.append(...[...sources].sort((a, b) => a.email.localeCompare(b.email)).map((s) => sourceItem(s, reconnect)));
  byId('sources').replaceChildren(sources.length === 0 ? el('p', '', 'No connected Google account yet.') : list);
}

function renderTasks(tasks: LiveTask[]): void {
  const open = tasks.filter((t) => t.status === 'open').sort((a, b) => (a.dueAt?.getTime() ?? Infinity) - (b.dueAt?.getTime() ?? Infinity));
  const list = el('ul', 'tasks');
  for (const task of open) {
    const item = el('li', 'task');
    item.dataset.taskId = task.taskId;
    item.append(el('span', 'title', task.title), ' ', el('span', 'origin', task.origin));
    if (task.dueAt !== null) item.append(' ', el('span', 'due', `due ${task.dueAt.toLocaleString()}`));
    list.append(item);
  }
  byId('tasks').replaceChildren(open.length === 0 ? el('p', '', 'No open tasks.') : list);
}

/** The return from Google: show which account the staged grant is for, and link it on a click. */
async function offerConfirm(client: ConnectClient, link: string): Promise<void> {
  const { email } = await client.link(link);
  byId('confirm-email').textContent = email;
  byId('confirm').hidden = false;
  byId('confirm-button').addEventListener('click', () => {
    client
      .confirm(link)
      .then(() => (byId('confirm').hidden = true))
      .catch((error: Error) => (byId('connect-error').textContent = error.message));
  });
}

function signedIn(user: User, settings: HostPageSettings, db: ReturnType<typeof getFirestore>, link: string | null): void {
  byId('sign-in').hidden = true;
  byId('app').hidden = false;
  byId('user').textContent = user.email ?? user.uid;
  const client = new ConnectClient({ connectUrl: settings.connectUrl, idToken: () => user.getIdToken() });
  const connect = (email?: string) => void client.startInBrowser(document, email);
  const form = byId('connect') as HTMLFormElement;
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    connect(field(form, 'email') || undefined);
  });
  const showError = (error: Error) => (byId('connect-error').textContent = error.message);
  if (link !== null) offerConfirm(client, link).catch(showError);
  liveSourceStatus(db, user.uid, (sources) => renderSources(sources, connect), showError);
  liveTasks(db, user.uid, renderTasks, showError);
}

function main(): void {
  const settings = JSON.parse(byId('settings').textContent) as HostPageSettings;
  const app = initializeApp(settings.firebase);
  const auth = getAuth(app);
  const db = getFirestore(app);
  if (settings.emulators !== null) {
    connectAuthEmulator(auth, `http://${settings.emulators.auth}`, { disableWarnings: true });
    const [host, port] = settings.emulators.firestore.split(':');
    connectFirestoreEmulator(db, host!, Number(port));
  }
  const outcome = connectOutcome(location.hash);
  if (location.hash !== '') history.replaceState(null, '', location.pathname);
  if (outcome?.status === 'denied') byId('connect-error').textContent = 'The Google account was not connected (consent denied).';
  const signInForm = byId('sign-in') as HTMLFormElement;
  signInForm.addEventListener('submit', (event) => {
    event.preventDefault();
    signInWithEmailAndPassword(auth, field(signInForm, 'email'), field(signInForm, 'password')).catch(() => (byId('sign-in-error').textContent = 'Wrong email or password.'));
  });
  let started = false;
  onAuthStateChanged(auth, (user) => {
    if (user === null) {
      signInForm.hidden = false;
      return;
    }
    if (started) return;
    started = true;
    signedIn(user, settings, db, outcome?.status === 'confirm' ? outcome.link : null);
  });
}

main();
