// First: it repairs navigator.language before any module reads it.
import './lib/locale-guard';
import { mount } from 'svelte';
import './app.css';
import App from './App.svelte';
import { selectTransport, type HostWindow } from './lib/transport/select';
import { Session, message } from './lib/session.svelte';
import { Router } from './lib/router.svelte';

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
  const session = new Session(selectTransport(window as unknown as HostWindow));
  const router = new Router(window);
  // Errors show in the UI, not only in the console.
  window.addEventListener('error', (e) => session.report('page', `Page error: ${e.message}`));
  window.addEventListener('unhandledrejection', (e) => session.report('page', `Page error: ${message(e.reason)}`));
  session.clock.start();
  session.start();
  mount(App, { target: document.getElementById('app')!, props: { session, router } });
}

void start();
