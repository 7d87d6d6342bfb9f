// @vitest-environment happy-dom
// The modal shell through a real dialog (ReasonDialog): focus goes in and comes back to the
// opener, Escape cancels, Tab stays inside.
import { afterEach, expect, it } from 'vitest';
import { flushSync, mount, unmount } from 'svelte';
import ReasonDialog from './ReasonDialog.svelte';

afterEach(() => {
  document.body.innerHTML = '';
});

it('takes the focus, keeps Tab inside, cancels on Escape and gives the focus back', () => {
  const opener = document.createElement('button');
  document.body.append(opener);
  opener.focus();
  const target = document.createElement('div');
  document.body.append(target);
  let closed = 0;
  const dlg = mount(ReasonDialog, {
    target,
    props: { title: 'Shelve', detail: 'CR1 cavity low', confirmLabel: 'Shelve', onconfirm: async () => {}, onclose: () => closed++ },
  });
  flushSync();
  const box = target.querySelector<HTMLElement>('[role="dialog"]')!;
  expect(box.dataset.testid).toBe('reason-dialog');
  expect(box.style.minWidth).toBe('22em');
  expect(document.activeElement).toBe(target.querySelector('[data-testid="reason-input"]'));

  const buttons = box.querySelectorAll<HTMLButtonElement>('button');
  buttons[buttons.length - 1].focus();
  box.dispatchEvent(new KeyboardEvent('keydown', { key: 'Tab', bubbles: true }));
  expect(document.activeElement).toBe(target.querySelector('[data-testid="reason-input"]')); // wrapped to the first

  box.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true }));
  expect(closed).toBe(1);
  unmount(dlg);
  flushSync();
  expect(document.activeElement).toBe(opener);
});
