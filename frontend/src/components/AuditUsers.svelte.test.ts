// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from 'vitest';
import { choose, cleanup, click, fakeEngine, mountRoot, q, qa, text, type, until, type Answers } from '../lib/test-app';
import type { AuditEntry, Role, UserView } from '../lib/types';

afterEach(cleanup);

const entry = (seq: number, over: Partial<AuditEntry> = {}): AuditEntry => ({
  seq,
  time: new Date(Date.now() - seq * 1000).toISOString(),
  who: 'ana',
  face: 'web',
  action: 'setpoint',
  target: 'Crushing.CR01.FeedRateSP',
  old: '800',
  new: '850',
  reason: 'more feed',
  result: 'done',
  prev_hash: 'p',
  hash: 'h',
  ...over,
});

async function boot(role: Role, hash: string, answers: Answers) {
  const transport = fakeEngine(answers);
  const booted = await mountRoot({ transport, user: { name: 'root', role } });
  window.location.hash = hash;
  return booted;
}

describe('audit page', () => {
  it('lists the newest 200 entries, searches, and verifies the chain for engineers', async () => {
    let report = { ok: true, entries: 2, problems: [] as string[] };
    const { transport } = await boot('engineer', '#/audit', {
      Audit: (qy) => ((qy as { text?: string }).text ? [entry(2)] : [entry(1, { action: 'login', old: '', new: '' }), entry(2)]),
      VerifyAudit: () => report,
    });
    await until(() => expect(qa('[data-testid="audit-row"]')).toHaveLength(2));
    expect(transport.calls.find((c) => c.method === 'Audit')!.params).toEqual([{ limit: 200 }]);
    const row = text('[data-testid="audit-row"][data-seq="2"]');
    for (const s of ['ana', 'web', 'setpoint', 'Crushing.CR01.FeedRateSP', '800 → 850', 'more feed', 'done']) expect(row).toContain(s);

    type('[data-testid="audit-search"]', 'feed');
    click('[data-testid="audit-search-submit"]');
    await until(() => expect(qa('[data-testid="audit-row"]')).toHaveLength(1));
    expect(transport.calls.filter((c) => c.method === 'Audit')[1].params).toEqual([{ limit: 200, text: 'feed' }]);

    click('[data-testid="audit-verify"]');
    await until(() => expect(q('[data-testid="audit-verify-result"]')?.dataset.ok).toBe('true'));
    expect(text('[data-testid="audit-verify-result"]')).toContain('2 entries');

    report = { ok: false, entries: 2, problems: ['entry 2: hash does not match'] };
    click('[data-testid="audit-verify"]');
    await until(() => expect(q('[data-testid="audit-verify-result"]')?.dataset.ok).toBe('false'));
    expect(qa('[data-testid="audit-problem"]').map((e) => e.textContent)).toEqual(['entry 2: hash does not match']);
  });

  it('has no Verify button for operators and shows a read error inline', async () => {
    await boot('operator', '#/audit', { Audit: () => Promise.reject(new Error('Audit: disk full')) });
    await until(() => expect(text('[data-testid="audit-error"]')).toContain('disk full'));
    expect(q('[data-testid="audit-verify"]')).toBeNull();
  });
});

describe('users page', () => {
  it('lists users and adds one; errors show inline', async () => {
    const users: UserView[] = [{ name: 'root', role: 'admin', disabled: false, changed: new Date().toISOString() }];
    const { transport } = await boot('admin', '#/users', {
      Users: () => users.map((u) => ({ ...u })),
      AddUser: (name, role) => {
        if (name === 'root') throw new Error('AddUser: user root exists');
        users.push({ name: String(name), role: role as Role, disabled: false, changed: new Date().toISOString() });
        return null;
      },
      SetUserRole: () => null,
      SetUserDisabled: () => Promise.reject(new Error('SetUserDisabled: cannot disable the last admin')),
    });
    await until(() => expect(qa('[data-testid="user-row"]')).toHaveLength(1));
    expect(q('[data-testid="nav-users"]')).not.toBeNull();

    type('[data-testid="user-add-name"]', 'bob');
    choose('[data-testid="user-add-role"]', 'engineer');
    type('[data-testid="user-add-password"]', 'long-password-1');
    type('[data-testid="user-add-password2"]', 'long-password-2');
    click('[data-testid="user-add-submit"]');
    expect(text('[data-testid="user-add-error"]')).toBe('The two passwords differ.');
    type('[data-testid="user-add-password2"]', 'long-password-1');
    click('[data-testid="user-add-submit"]');
    await until(() => expect(qa('[data-testid="user-row"]')).toHaveLength(2));
    expect(transport.calls.find((c) => c.method === 'AddUser')!.params).toEqual(['bob', 'engineer', 'long-password-1']);
    expect(text('[data-testid="user-add-done"]')).toBe('Added bob (engineer).');

    type('[data-testid="user-add-name"]', 'root');
    type('[data-testid="user-add-password"]', 'x');
    type('[data-testid="user-add-password2"]', 'x');
    click('[data-testid="user-add-submit"]');
    await until(() => expect(text('[data-testid="user-add-error"]')).toContain('user root exists'));

    choose('[data-user="bob"] [data-testid="user-role"]', 'operator');
    await until(() => expect(transport.calls.find((c) => c.method === 'SetUserRole')?.params).toEqual(['bob', 'operator']));

    click('[data-user="bob"] [data-testid="user-disable"]');
    await until(() => expect(text('[data-user="bob"] [data-testid="user-error"]')).toContain('cannot disable the last admin'));
  });

  it('is for administrators only', async () => {
    const { transport } = await boot('engineer', '#/users', { Users: () => [] });
    await until(() => expect(q('[data-testid="users-forbidden"]')).not.toBeNull());
    expect(q('[data-testid="nav-users"]')).toBeNull();
    expect(transport.count('Users')).toBe(0);
  });
});

describe('change my password', () => {
  it('is in the user menu for everyone', async () => {
    const { transport } = await boot('viewer', '#/', {
      ChangeOwnPassword: (old) => (old === 'old' ? null : Promise.reject(new Error('ChangeOwnPassword: wrong password'))),
    });
    q<HTMLDetailsElement>('[data-testid="user-menu"]')!.open = true;
    type('[data-testid="password-old"]', 'bad');
    type('[data-testid="password-new"]', 'new-password');
    type('[data-testid="password-new2"]', 'new-password');
    click('[data-testid="password-submit"]');
    await until(() => expect(text('[data-testid="password-error"]')).toContain('wrong password'));
    type('[data-testid="password-old"]', 'old');
    type('[data-testid="password-new"]', 'new-password');
    type('[data-testid="password-new2"]', 'new-password');
    click('[data-testid="password-submit"]');
    await until(() => expect(text('[data-testid="password-done"]')).toBe('Password changed.'));
    expect(transport.calls.filter((c) => c.method === 'ChangeOwnPassword')[1].params).toEqual(['old', 'new-password']);
  });
});
