// First: it repairs navigator.language before any module reads it.
import './lib/locale-guard';
import { mount } from 'svelte';
import './app.css';
import Root from './Root.svelte';
import { isWails, selectTransport, type HostWindow } from './lib/transport/select';
import { message } from './lib/session.svelte';
import { Router } from './lib/router.svelte';
import { Account } from './lib/account.svelte';
import { WailsAuth, WebAuth } from './lib/auth';
import { engineConnector } from './lib/engine-link';

// Inside the desktop window the Wails runtime may still be setting up its bindings when this
// module runs; give it a moment before deciding there is no desktop face.
async function settleWails(w: any): Promise<void> {
  const wailsPresent = () => w.runtime !== undefined || w.WailsInvoke !== undefined || w.wails !== undefined;
  for (let i = 0; i < 40 && wailsPresent() && !w.go?.desktop; i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function start(): Promise<void> {
  await settleWails(window);
  const host = window as unknown as HostWindow;
  // Nothing talks to the engine before a login: the transport opens with the session.
  const auth = isWails(host) ? new WailsAuth(host) : new WebAuth();
  const account = new Account(auth, engineConnector((csrf) => selectTransport(host, {}, csrf)));
  const router = new Router(window);
  // Errors show in the UI, not only in the console.
  const report = (msg: string) => {
    if (account.link) account.link.session.report('page', msg);
    else console.error(msg);
  };
  window.addEventListener('error', (e) => report(`Page error: ${e.message}`));
  window.addEventListener('unhandledrejection', (e) => report(`Page error: ${message(e.reason)}`));
  mount(Root, { target: document.getElementById('app')!, props: { account, router } });
  await account.check();
}

void start();
