// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { flushSync, mount, unmount } from 'svelte';
import App from '../App.svelte';
import { Session } from '../lib/session.svelte';
import { Router } from '../lib/router.svelte';
import { LiveStore } from '../lib/live.svelte';
import { FakeTransport, browseAnswer, type FakeNode } from '../lib/fake-transport';
import type { Connection, Model } from '../lib/types';

const model: Model = {
  site: 'Test mine',
  areas: [
    {
      name: 'Pit',
      units: [{ id: 'Pit.SH01', area: 'Pit', name: 'SH01', displayName: 'Shovel 1', kind: 'Shovel', key: [], signals: [] }],
    },
  ],
};

const space: FakeNode = {
  id: 'i=85',
  name: 'Objects',
  children: [
    {
      id: 'ns=2;s=Mine',
      name: 'Mine',
      children: [
        {
          id: 'ns=2;s=Mine.Pit',
          name: 'Pit',
          children: [
            {
              id: 'ns=2;s=Pit.SH01',
              name: 'SH01',
              children: [
                { id: 'ns=2;s=Pit.SH01.HoistCurrentA', name: 'HoistCurrentA', dataType: 'Double', value: 812.25 },
                { id: 'ns=2;s=Pit.SH01.Spare', name: 'Spare', dataType: 'Int32', value: 0, status: 'BadNotReadable' },
              ],
            },
          ],
        },
      ],
    },
  ],
};

const YEAR = 365 * 24 * 3600_000;

function conn(over: Partial<Connection> = {}): Connection {
  return {
    name: 'sim',
    endpoint: 'opc.tcp://127.0.0.1:4840',
    state: 'connected',
    lastError: '',
    lastDataAt: Date.now() - 2000,
    items: 312,
    rate: 120.4,
    security: 'None · None · anonymous',
    problems: [],
    ...over,
  };
}

let app: Record<string, any> | undefined;
afterEach(() => {
  if (app) unmount(app);
  app = undefined;
  document.body.innerHTML = '';
  window.location.hash = '';
});

function mountApp(connections: Connection[], answers: Record<string, (...p: unknown[]) => unknown> = {}) {
  const transport = new FakeTransport({
    Model: () => model,
    Snapshot: () => [],
    Status: () => ({ now: Date.now(), connections }),
    Ready: () => null,
    Browse: browseAnswer(space),
    ...answers,
  });
  const session = new Session(transport, { store: new LiveStore((cb) => queueMicrotask(cb)) });
  const router = new Router(window);
  session.start();
  const target = document.createElement('div');
  document.body.append(target);
  app = mount(App, { target, props: { session, router } });
  return { transport, session, router };
}

async function until(check: () => void) {
  await vi.waitFor(() => {
    flushSync();
    check();
  });
}

const q = <T extends HTMLElement = HTMLElement>(sel: string) => document.querySelector<T>(sel);
const text = (sel: string) => q(sel)?.textContent?.replace(/\s+/g, ' ').trim() ?? '';
const click = (sel: string) => {
  const el = q(sel);
  if (!el) throw new Error(`no ${sel}`);
  el.click();
  flushSync();
};
const row = (name: string) => q(`[role="treeitem"][data-browse-name="${name}"]`);

async function openConnections(connections: Connection[], answers: Record<string, (...p: unknown[]) => unknown> = {}) {
  const booted = mountApp(connections, answers);
  await until(() => expect(q('[data-connections-link] [data-connection="sim"]')).not.toBeNull());
  expect(q<HTMLAnchorElement>('[data-connections-link]')!.getAttribute('href')).toBe('#/connections');
  window.location.hash = '#/connections';
  await until(() => expect(q('[data-connections-page]')).not.toBeNull());
  await until(() => expect(q(`[data-connection-card="${connections[0].name}"]`)).not.toBeNull());
  return booted;
}

describe('Connections page', () => {
  it('shows every connection with its state, security, items, rate, age, error and problems', async () => {
    await openConnections([
      conn(),
      conn({
        name: 'plc2',
        endpoint: 'opc.tcp://10.0.0.9:4840',
        state: 'disconnected',
        lastError: 'dial tcp 10.0.0.9:4840: connect: connection refused',
        lastDataAt: 0,
        items: 0,
        rate: 0,
        security: '',
        problems: ['ns=2;s=Pit.SH09.X: BadNodeIdUnknown', 'browse rule "Crusher*" matched nothing'],
      }),
    ]);
    const sim = '[data-connection-card="sim"]';
    expect(q(`${sim} [data-connection]`)!.dataset.state).toBe('connected');
    expect(text(`${sim} [data-endpoint]`)).toBe('opc.tcp://127.0.0.1:4840');
    expect(text(`${sim} [data-security]`)).toBe('None · None · anonymous');
    expect(text(`${sim} [data-items]`)).toBe('312');
    expect(text(`${sim} [data-rate]`)).toBe('120 changes/s');
    expect(text(`${sim} [data-last-data]`)).toMatch(/^\ds ago/);
    expect(q(`${sim} [data-last-error]`)).toBeNull();
    expect(q(`${sim} [data-problems]`)).toBeNull();

    const plc = '[data-connection-card="plc2"]';
    expect(q(`${plc} [data-connection]`)!.dataset.state).toBe('disconnected');
    expect(text(`${plc} [data-security]`)).toMatch(/no session yet/);
    expect(text(`${plc} [data-last-data]`)).toBe('never');
    expect(text(`${plc} [data-last-error]`)).toBe('dial tcp 10.0.0.9:4840: connect: connection refused');
    expect(text(`${plc} [data-problems]`)).toContain('2 problems — the other items keep working');
    expect([...document.querySelectorAll(`${plc} [data-problem]`)].map((e) => e.textContent)).toEqual([
      'ns=2;s=Pit.SH09.X: BadNodeIdUnknown',
      'browse rule "Crusher*" matched nothing',
    ]);
    expect(q(`${plc} [data-certificate]`)).toBeNull();
  });

  it('returns to the overview on Escape', async () => {
    await openConnections([conn()]);
    window.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape' }));
    await until(() => expect(q('[data-connections-page]')).toBeNull());
  });
});

describe('certificate trust prompt', () => {
  const tp = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';
  const untrusted = {
    reason: 'untrusted' as const,
    thumbprint: tp,
    subject: 'CN=PLC-7, O=Vendor',
    issuer: 'CN=PLC-7, O=Vendor',
    applicationUri: 'urn:vendor:plc7',
    notBefore: Date.now() - YEAR,
    notAfter: Date.now() + YEAR,
  };

  it('describes a never-seen certificate and trusts it only after a confirming click', async () => {
    const { transport } = await openConnections(
      [conn({ state: 'disconnected', lastError: 'certificate not trusted', certificate: untrusted })],
      { TrustCertificate: () => null },
    );
    expect(q('[data-certificate-waiting]')).not.toBeNull();
    const p = '[data-connection-card="sim"] [data-certificate="untrusted"]';
    expect(text(`${p} h3`)).toContain('The server presented a certificate Minebrain has never seen');
    expect(text(`${p} [data-cert-subject]`)).toBe('CN=PLC-7, O=Vendor');
    expect(text(`${p} [data-cert-issuer]`)).toBe('CN=PLC-7, O=Vendor (self-signed)');
    expect(text(`${p} [data-cert-uri]`)).toBe('urn:vendor:plc7');
    expect(text(`${p} [data-cert-thumbprint]`)).toBe('A1B2 C3D4 E5F6 0718 293A 4B5C 6D7E 8F90 1234 5678');
    expect(q(`${p} [data-cert-validity]`)!.dataset.certValidity).toBe('valid');
    expect(q(`${p} [data-cert-pinned]`)).toBeNull();

    click(`${p} [data-trust]`);
    expect(transport.count('TrustCertificate')).toBe(0);
    expect(text(`${p} [role="group"]`)).toContain('A1B2 C3D4');
    click(`${p} [data-trust-cancel]`);
    expect(q(`${p} [data-trust-confirm]`)).toBeNull();
    expect(transport.count('TrustCertificate')).toBe(0);

    click(`${p} [data-trust]`);
    click(`${p} [data-trust-confirm]`);
    await until(() => expect(q(`${p} [data-cert-trusted]`)).not.toBeNull());
    expect(transport.calls.find((c) => c.method === 'TrustCertificate')!.params).toEqual(['sim', tp]);
  });

  it('warns loudly about a changed certificate, shows the pinned one and the failure of a trust', async () => {
    const { transport } = await openConnections(
      [
        conn({
          state: 'disconnected',
          certificate: {
            ...untrusted,
            reason: 'changed',
            pinned: 'ffffeeee',
            notBefore: Date.now() - 2 * YEAR,
            notAfter: Date.now() - YEAR,
          },
        }),
      ],
      { TrustCertificate: () => Promise.reject(new Error('TrustCertificate: pki: cannot write trusted/plc7.der: permission denied')) },
    );
    const p = '[data-certificate="changed"]';
    expect(text(`${p} h3`)).toContain("The server's certificate CHANGED since it was trusted");
    expect(text(`${p} h3`)).toContain('different machine or an attack');
    expect(text(`${p} [data-cert-pinned]`)).toBe('FFFF EEEE');
    expect(q(`${p} [data-cert-validity]`)!.dataset.certValidity).toBe('expired');
    expect(text(`${p} [data-cert-validity]`)).toContain('EXPIRED');
    click(`${p} [data-trust]`);
    click(`${p} [data-trust-confirm]`);
    await until(() =>
      expect(text(`${p} [data-trust-error]`)).toBe(
        'Could not trust the certificate: TrustCertificate: pki: cannot write trusted/plc7.der: permission denied',
      ),
    );
    expect(transport.count('TrustCertificate')).toBe(1);
    expect(q(`${p} [data-trust-confirm]`)).not.toBeNull(); // can try again
  });

  it('flags a certificate that is not valid yet', async () => {
    await openConnections([conn({ certificate: { ...untrusted, notBefore: Date.now() + YEAR, notAfter: Date.now() + 2 * YEAR } })]);
    expect(text('[data-cert-validity]')).toContain('NOT YET VALID');
  });
});

describe('address-space browser', () => {
  it('expands Objects → Mine → Pit → SH01 lazily and shows variables with value, status and age', async () => {
    const { transport } = await openConnections([conn()]);
    click('[data-connection-card="sim"] [data-browse-toggle]');
    await until(() => expect(row('Mine')).not.toBeNull());
    expect(transport.calls.filter((c) => c.method === 'Browse').map((c) => c.params)).toEqual([['sim', '']]);
    expect(row('Objects')!.getAttribute('aria-expanded')).toBe('true');
    expect(row('Mine')!.getAttribute('aria-expanded')).toBe('false');
    expect(row('Mine')!.dataset.nodeClass).toBe('Object');
    expect(row('Mine')!.textContent).toContain('ns=2;s=Mine');

    row('Mine')!.click();
    await until(() => expect(row('Pit')).not.toBeNull());
    row('Pit')!.click();
    await until(() => expect(row('SH01')).not.toBeNull());
    row('SH01')!.click();
    await until(() => expect(row('HoistCurrentA')).not.toBeNull());
    expect(transport.count('Browse')).toBe(4);

    const v = row('HoistCurrentA')!;
    expect(v.dataset.nodeClass).toBe('Variable');
    expect(v.getAttribute('aria-level')).toBe('5');
    expect(v.hasAttribute('aria-expanded')).toBe(false);
    expect(v.querySelector('[data-value]')!.textContent).toContain('812.3');
    expect(v.querySelector('[data-value]')!.getAttribute('data-quality')).toBe('good');
    expect(v.querySelector('[data-status]')!.textContent).toBe('Good');
    expect(v.textContent).toMatch(/read \ds ago/);
    expect(v.textContent).toContain('Double');
    const spare = row('Spare')!;
    expect(spare.querySelector('[data-value]')!.getAttribute('data-quality')).toBe('bad');
    expect(spare.querySelector('[data-value]')!.textContent).toContain('✕');
  });

  it('is worked by the keyboard: one tab stop, arrows move and open, Enter on a variable opens the Add form', async () => {
    const { transport } = await openConnections([conn()], { AddNode: () => null });
    click('[data-browse-toggle]');
    await until(() => expect(row('Mine')).not.toBeNull());
    const tree = q('[role="tree"]')!;
    expect([...tree.querySelectorAll('[role="treeitem"][tabindex="0"]')]).toHaveLength(1);
    row('Objects')!.focus();
    const key = (k: string) => {
      document.activeElement!.dispatchEvent(new KeyboardEvent('keydown', { key: k, bubbles: true }));
      flushSync();
    };
    key('ArrowDown');
    expect((document.activeElement as HTMLElement).dataset.browseName).toBe('Mine');
    key('ArrowRight');
    await until(() => expect(row('Pit')).not.toBeNull());
    key('ArrowRight');
    expect((document.activeElement as HTMLElement).dataset.browseName).toBe('Pit');
    key('Enter');
    await until(() => expect(row('SH01')).not.toBeNull());
    key('ArrowDown');
    key('ArrowRight');
    await until(() => expect(row('HoistCurrentA')).not.toBeNull());
    key('ArrowDown');
    expect((document.activeElement as HTMLElement).dataset.browseName).toBe('HoistCurrentA');
    key('Enter');
    await until(() => expect(q('[data-add-form]')).not.toBeNull());
    const input = q<HTMLInputElement>('[data-add-tag]')!;
    expect(input.value).toBe('Pit.SH01.HoistCurrentA');
    expect(document.activeElement).toBe(input);

    // Escape closes the form (not the page) and gives the focus back to the row.
    input.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true, cancelable: true }));
    await until(() => expect(q('[data-add-form]')).toBeNull());
    expect(q('[data-connections-page]')).not.toBeNull();
    expect((document.activeElement as HTMLElement).dataset.browseName).toBe('HoistCurrentA');

    key('ArrowLeft'); // to SH01
    key('ArrowLeft'); // closes SH01
    expect(row('HoistCurrentA')).toBeNull();
    expect(transport.count('AddNode')).toBe(0);
  });

  it('adds a variable under an edited tag and shows success, or the engine error', async () => {
    let fail = false;
    const { transport } = await openConnections([conn()], {
      AddNode: () => (fail ? Promise.reject(new Error('AddNode: site.yaml:41: tag "Pit.SH01.Hoist" is already used (site.yaml:17)')) : null),
    });
    click('[data-browse-toggle]');
    for (const n of ['Mine', 'Pit', 'SH01']) {
      await until(() => expect(row(n)).not.toBeNull());
      row(n)!.click();
    }
    await until(() => expect(row('HoistCurrentA')).not.toBeNull());
    (row('HoistCurrentA')!.querySelector('[data-add]') as HTMLElement).click();
    flushSync();
    const input = q<HTMLInputElement>('[data-add-tag]')!;
    input.value = 'Pit.SH01 Hoist';
    input.dispatchEvent(new Event('input', { bubbles: true }));
    flushSync();
    expect(q<HTMLButtonElement>('[data-add-submit]')!.disabled).toBe(true);
    expect(input.getAttribute('aria-invalid')).toBe('true');
    input.value = 'Pit.SH01.Hoist';
    input.dispatchEvent(new Event('input', { bubbles: true }));
    flushSync();
    click('[data-add-submit]');
    await until(() => expect(text('[data-add-done]')).toBe('Added Pit.SH01.Hoist ← ns=2;s=Pit.SH01.HoistCurrentA.'));
    expect(transport.calls.find((c) => c.method === 'AddNode')!.params).toEqual([
      'sim',
      'ns=2;s=Pit.SH01.HoistCurrentA',
      'Pit.SH01.Hoist',
    ]);

    fail = true;
    click('[data-add-submit]');
    await until(() => expect(text('[data-add-error]')).toContain('site.yaml:41: tag "Pit.SH01.Hoist" is already used'));
  });

  it('shows a Browse error on its node and tries again on click', async () => {
    let down = true;
    const ok = browseAnswer(space);
    await openConnections([conn()], {
      Browse: (c, n) => {
        if (down) throw new Error('Browse: opcua: not connected to opc.tcp://127.0.0.1:4840');
        return ok(c, n);
      },
    });
    click('[data-browse-toggle]');
    await until(() => expect(text('[data-browse-error]')).toContain('opcua: not connected to opc.tcp://127.0.0.1:4840'));
    expect(row('Objects')!.dataset.state).toBe('error');
    down = false;
    row('Objects')!.click();
    await until(() => expect(row('Mine')).not.toBeNull());
    expect(q('[data-browse-error]')).toBeNull();
  });
});

describe('pointers to the trust prompt', () => {
  it('the waiting page and the connection banner link to the Connections page when a certificate waits', async () => {
    const certificate = {
      reason: 'untrusted' as const,
      thumbprint: 'ab',
      subject: 'CN=x',
      issuer: 'CN=x',
      applicationUri: 'urn:x',
      notBefore: 0,
      notAfter: 0,
    };
    mountApp([conn({ state: 'disconnected', lastError: 'certificate not trusted', certificate })], {
      Model: () => ({ site: 'opc.tcp://x', areas: [] }),
    });
    await until(() => expect(q('[data-waiting-certificate="sim"] a')).not.toBeNull());
    expect(q<HTMLAnchorElement>('[data-waiting-certificate="sim"] a')!.getAttribute('href')).toBe('#/connections');
    expect(q<HTMLAnchorElement>('[data-banner-certificate]')!.getAttribute('href')).toBe('#/connections');
  });
});
